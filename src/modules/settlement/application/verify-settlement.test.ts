import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SettlementPosition } from '../../ledger/index.ts';
import type { SettlementRecord } from '../infra/settlement-repository.ts';
import { compareWithLedger } from './verify-settlement.ts';

// One merchant's day: 150.00 captured (100.00 settled, 50.00 not yet), 5.00 refunded and settled,
// net 89.75 after fees, 60.00 paid out, a 10.00 chargeback charged.
const record: SettlementRecord = {
  merchantId: 'mer_1',
  currency: 'USD',
  unsettledCaptures: 5_000n,
  unsettledRefunds: 0n,
  settledGross: 10_000n,
  settledRefunds: 500n,
  settledNet: 8_975n,
  paidOut: 6_000n,
  chargebacks: 1_000n,
};
const position: SettlementPosition = {
  merchantId: 'mer_1',
  currency: 'USD',
  receivable: 5_000n,
  refundsToNet: 0n,
  available: 1_975n,
  settledGross: 10_000n,
  settledRefunds: 500n,
};

test('records that agree with the ledger: no violation, nothing in flight', () => {
  assert.deepEqual(compareWithLedger([record], [position]), {
    violations: [],
    inFlight: [],
    pairsChecked: 1,
  });
});

test('a capture in the ledger whose event settlement has not recorded yet is in flight, not a violation', () => {
  const result = compareWithLedger([record], [{ ...position, receivable: 7_000n }]);
  assert.deepEqual(result.violations, []);
  assert.deepEqual(result.inFlight, [{ merchantId: 'mer_1', currency: 'USD', amount: 2_000n }]);
});

test('items the ledger never captured, a settled amount or an available balance that differ: violations', () => {
  const checks = (records: SettlementRecord[], positions: SettlementPosition[]) =>
    compareWithLedger(records, positions).violations.map((violation) => violation.check);
  assert.deepEqual(checks([record], [{ ...position, receivable: 4_999n }]), ['unsettled_exceeds_receivable']);
  assert.deepEqual(checks([{ ...record, settledGross: 10_001n }], [position]), [
    'settled_differs_from_ledger',
  ]);
  assert.deepEqual(checks([{ ...record, chargebacks: 0n }], [position]), ['available_differs_from_ledger']);
  // A merchant known to one side only is compared with zeros.
  assert.deepEqual(checks([], [position]), ['settled_differs_from_ledger', 'available_differs_from_ledger']);
});
