// `payflow settlement verify` (ADR 19): settlement's own invariants, then settlement's records
// against the ledger, all in one repeatable-read, read-only snapshot. Per merchant and currency:
// what settlement journals took off the receivable equals the batches' gross (and refunds); the
// available balance equals the net settled less payouts not failed and chargebacks charged; the
// receivable is never less than the captures not yet settled. A receivable above them is not a
// violation but work in flight: captures whose events settlement has not recorded as items yet
// (0 once the worker has caught up).
import type { Sql } from '../../../platform/db/client.ts';
import type { LedgerFace, SettlementPosition } from '../../ledger/index.ts';
import {
  settlementRecords,
  settlementViolations,
  type SettlementRecord,
  type SettlementViolation,
} from '../infra/settlement-repository.ts';

export interface SettlementVerifyReport {
  readonly violations: readonly SettlementViolation[];
  /** Merchant and currency pairs checked against the ledger. */
  readonly pairsChecked: number;
  /** Captured (less refunded) in the ledger, not yet an item of settlement: events in flight. */
  readonly inFlight: readonly { merchantId: string; currency: string; amount: bigint }[];
}

const zeroPosition = (merchantId: string, currency: string) =>
  ({
    merchantId,
    currency,
    receivable: 0n,
    refundsToNet: 0n,
    available: 0n,
    settledGross: 0n,
    settledRefunds: 0n,
  }) as SettlementPosition;

const zeroRecord = (merchantId: string, currency: string): SettlementRecord => ({
  merchantId,
  currency,
  unsettledCaptures: 0n,
  unsettledRefunds: 0n,
  settledGross: 0n,
  settledRefunds: 0n,
  settledNet: 0n,
  paidOut: 0n,
  chargebacks: 0n,
});

/** Settlement's records against the ledger's positions. Pure. */
export function compareWithLedger(
  records: readonly SettlementRecord[],
  positions: readonly SettlementPosition[],
): Pick<SettlementVerifyReport, 'violations' | 'inFlight' | 'pairsChecked'> {
  const pairs = new Map<string, { record: SettlementRecord; position: SettlementPosition }>();
  const key = (merchantId: string, currency: string) => `${merchantId} ${currency}`;
  for (const position of positions)
    pairs.set(key(position.merchantId, position.currency), {
      position,
      record: zeroRecord(position.merchantId, position.currency),
    });
  for (const record of records) {
    const pair = pairs.get(key(record.merchantId, record.currency));
    pairs.set(key(record.merchantId, record.currency), {
      record,
      position: pair?.position ?? zeroPosition(record.merchantId, record.currency),
    });
  }
  const violations: SettlementViolation[] = [];
  const inFlight: { merchantId: string; currency: string; amount: bigint }[] = [];
  for (const [name, { record, position }] of [...pairs].sort(([left], [right]) =>
    left.localeCompare(right),
  )) {
    if (position.settledGross !== record.settledGross || position.settledRefunds !== record.settledRefunds)
      violations.push({
        check: 'settled_differs_from_ledger',
        detail: `${name}: settlement journals settled ${position.settledGross} gross and ${position.settledRefunds} refunds, the batches ${record.settledGross} and ${record.settledRefunds}`,
      });
    const expectedAvailable = record.settledNet - record.paidOut - record.chargebacks;
    if (position.available !== expectedAvailable)
      violations.push({
        check: 'available_differs_from_ledger',
        detail: `${name}: the ledger's available is ${position.available}; net settled ${record.settledNet} less payouts ${record.paidOut} less chargebacks ${record.chargebacks} is ${expectedAvailable}`,
      });
    if (record.unsettledCaptures > position.receivable || record.unsettledRefunds > position.refundsToNet)
      violations.push({
        check: 'unsettled_exceeds_receivable',
        detail: `${name}: ${record.unsettledCaptures} captured and ${record.unsettledRefunds} refunded await settlement, the ledger's receivable is ${position.receivable} and refunds to net ${position.refundsToNet}`,
      });
    else {
      const amount =
        position.receivable - record.unsettledCaptures - (position.refundsToNet - record.unsettledRefunds);
      if (
        position.receivable !== record.unsettledCaptures ||
        position.refundsToNet !== record.unsettledRefunds
      )
        inFlight.push({ merchantId: record.merchantId, currency: record.currency, amount });
    }
  }
  return { violations, inFlight, pairsChecked: pairs.size };
}

export async function verifySettlement(
  sql: Sql,
  ledger: Pick<LedgerFace, 'settlementPositions'>,
): Promise<SettlementVerifyReport> {
  return sql.begin('isolation level repeatable read read only', async (transaction) => {
    const own = await settlementViolations(transaction);
    const compared = compareWithLedger(
      await settlementRecords(transaction),
      await ledger.settlementPositions(transaction),
    );
    return { ...compared, violations: [...own, ...compared.violations] };
  });
}
