// Resolving a reconciliation exception (ADR 20). Phases, in one transaction: lock the exception and
// the item it names → decide whether the asked adjustment fits (expected failures are values with a
// code) → post the adjustment journal, mark the exception resolved and stage
// `settlement.adjusted.v1` → commit together. No outside calls. The journal id is derived from the
// exception, so an exception adjusts the ledger at most once whatever runs concurrently.
import { DomainError } from '../../../platform/errors.ts';
import type { TransactionSql } from '../../../platform/db/client.ts';
import { totalToJson, type CurrencyCode } from '../../../platform/money.ts';
import { reconciliationAdjustmentJournal, type ReconciliationAdjustment } from '../../ledger/index.ts';
import {
  lockReconciliationResult,
  resolveReconciliationResult,
  type ReconciliationResultRow,
} from '../infra/settlement-repository.ts';
import type { SettlementDependencies } from './settlement-job.ts';

export const adjustmentKinds = ['acquirer_difference', 'merchant_chargeback'] as const;
export type AdjustmentKind = (typeof adjustmentKinds)[number];

export interface ResolveExceptionInput {
  readonly exceptionId: string;
  readonly reason: string;
  /** Absent: resolved with the reason only, nothing posted. */
  readonly adjustment?: AdjustmentKind;
}

export interface ResolvedException {
  readonly id: string;
  readonly status: 'resolved';
  readonly adjustment?: {
    readonly kind: AdjustmentKind;
    readonly journalId: string;
    readonly merchantId: string;
    readonly currency: CurrencyCode;
    /** Minor units: what the bank got more (positive) or less (negative); a chargeback's amount. */
    readonly amount: bigint;
  };
}

interface PlannedAdjustment {
  readonly merchantId: string;
  readonly currency: CurrencyCode;
  readonly paymentId: string;
  readonly adjustment: ReconciliationAdjustment;
  readonly amount: bigint;
}

const notApplicable = (detail: string) => new DomainError('adjustment_not_applicable', 422, detail);

/** Which journal an adjustment of this exception posts, or the reason it cannot. Pure. */
export function planAdjustment(row: ReconciliationResultRow, kind: AdjustmentKind): PlannedAdjustment {
  const wanted = kind === 'acquirer_difference' ? ['amount_mismatch', 'cost_mismatch'] : ['chargeback'];
  if (!wanted.includes(row.outcome))
    throw notApplicable(
      `A ${kind} adjustment resolves a ${wanted.join(' or ')} exception, not a ${row.outcome}.`,
    );
  if (row.item_merchant_id === null || row.item_currency === null || row.item_payment_id === null)
    throw notApplicable('The exception names no capture or refund PayFlow recorded; nothing to adjust.');
  if (row.currency !== row.item_currency || row.reported_amount === null)
    throw notApplicable(
      `The report says ${row.currency ?? 'no currency'}, PayFlow recorded ${row.item_currency}: not an amount difference.`,
    );
  const base = {
    merchantId: row.item_merchant_id,
    currency: row.item_currency,
    paymentId: row.item_payment_id,
  };
  if (kind === 'merchant_chargeback') {
    if (row.reported_amount <= 0n) throw notApplicable('The chargeback has no amount.');
    return {
      ...base,
      adjustment: { kind, amount: row.reported_amount },
      amount: row.reported_amount,
    };
  }
  if (row.expected_amount === null) throw notApplicable('PayFlow recorded no amount to compare.');
  // A Settled row reporting more means the acquirer paid more; a Refunded row, that it kept more;
  // a higher cost, that it kept more too.
  const difference = row.reported_amount - row.expected_amount;
  const bankDifference =
    row.item_kind === 'refund' || row.outcome === 'cost_mismatch' ? -difference : difference;
  if (bankDifference === 0n) throw notApplicable('The amounts agree; nothing to adjust.');
  return { ...base, adjustment: { kind, bankDifference }, amount: bankDifference };
}

export async function resolveException(
  dependencies: SettlementDependencies,
  input: ResolveExceptionInput,
): Promise<ResolvedException> {
  return dependencies.sql.begin(async (transaction) => {
    const row = await lockReconciliationResult(transaction, input.exceptionId);
    if (!row) throw new DomainError('exception_not_found', 404, 'No such exception.');
    if (row.status !== 'open')
      throw new DomainError('exception_not_open', 409, `The exception is ${row.status}, not open.`, {
        exceptionStatus: row.status,
      });
    const now = dependencies.clock.now();
    if (input.adjustment === undefined) {
      await resolveReconciliationResult(transaction, row.id, { reason: input.reason, now });
      return { id: row.id, status: 'resolved' };
    }
    const kind = input.adjustment;
    const planned = planAdjustment(row, kind);
    const journalId = `adjustment:${row.id}`;
    await postAdjustment(
      dependencies,
      transaction,
      row.id,
      { ...input, adjustment: kind },
      planned,
      journalId,
      now,
    );
    return {
      id: row.id,
      status: 'resolved',
      adjustment: {
        kind: input.adjustment,
        journalId,
        merchantId: planned.merchantId,
        currency: planned.currency,
        amount: planned.amount,
      },
    };
  });
}

async function postAdjustment(
  dependencies: SettlementDependencies,
  transaction: TransactionSql,
  exceptionId: string,
  input: ResolveExceptionInput & { adjustment: AdjustmentKind },
  planned: PlannedAdjustment,
  journalId: string,
  now: Date,
): Promise<void> {
  await dependencies.ledger.post(
    transaction,
    reconciliationAdjustmentJournal(planned.merchantId, planned.currency, planned.adjustment, {
      journalId,
      occurredAt: now,
    }),
  );
  await resolveReconciliationResult(transaction, exceptionId, {
    reason: input.reason,
    now,
    adjustment: { kind: input.adjustment, journalId, amount: planned.amount },
  });
  // A chargeback moves the merchant's money: the merchant's event. A cost difference is PayFlow's own.
  await dependencies.stage(transaction, {
    type: 'settlement.adjusted.v1',
    aggregateId: exceptionId,
    merchantId: input.adjustment === 'merchant_chargeback' ? planned.merchantId : 'platform',
    payload: {
      exceptionId,
      adjustment: input.adjustment,
      journalId,
      paymentId: planned.paymentId,
      currency: planned.currency,
      amount: totalToJson(planned.amount),
    },
    occurredAt: now,
  });
}
