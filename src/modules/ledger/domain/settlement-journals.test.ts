import { test } from 'node:test';
import assert from 'node:assert/strict';
import { merchantBalance } from './balances.ts';
import { reconciliationAdjustmentJournal, settlementJournal } from './settlement-journals.ts';

const stamp = { journalId: 'adjustment:rcx_test', occurredAt: new Date('2026-12-04T10:00:00Z') };
const balanceOf = (journal: { postings: readonly { accountCode: string; amount: bigint }[] }, role: string) =>
  journal.postings
    .filter((posting) => posting.accountCode === `merchant:mer_1:USD:${role}`)
    .reduce((sum, posting) => sum + posting.amount, 0n);

test('an acquirer that paid less than expected: Dr acquirer_costs, Cr bank, the merchant untouched', () => {
  const journal = reconciliationAdjustmentJournal(
    'mer_1',
    'USD',
    { kind: 'acquirer_difference', bankDifference: -7n },
    stamp,
  );
  assert.equal(journal.kind, 'reconciliation_adjustment');
  assert.equal(balanceOf(journal, 'bank'), -7n);
  assert.equal(balanceOf(journal, 'acquirer_costs'), 7n);
  assert.deepEqual(merchantBalance('mer_1', journal.postings), []);
});

test('an acquirer that paid more: Dr bank, Cr acquirer_costs', () => {
  const journal = reconciliationAdjustmentJournal(
    'mer_1',
    'USD',
    { kind: 'acquirer_difference', bankDifference: 1n },
    stamp,
  );
  assert.equal(balanceOf(journal, 'bank'), 1n);
  assert.equal(balanceOf(journal, 'acquirer_costs'), -1n);
});

test('a chargeback borne by the merchant lowers available (carried over when it goes negative)', () => {
  const settled = settlementJournal(
    'mer_1',
    'USD',
    { gross: 1_000n, refunds: 0n, fees: 59n, acquirerCosts: 15n },
    { journalId: 'stl_1', occurredAt: stamp.occurredAt },
  );
  const chargeback = reconciliationAdjustmentJournal(
    'mer_1',
    'USD',
    { kind: 'merchant_chargeback', amount: 1_000n },
    stamp,
  );
  assert.equal(balanceOf(chargeback, 'bank'), -1_000n);
  const [balance] = merchantBalance('mer_1', [...settled.postings, ...chargeback.postings]);
  assert.equal(balance?.available, 941n - 1_000n);
});

test('an adjustment of nothing is a programmer error', () => {
  assert.throws(() =>
    reconciliationAdjustmentJournal(
      'mer_1',
      'USD',
      { kind: 'acquirer_difference', bankDifference: 0n },
      stamp,
    ),
  );
  assert.throws(() =>
    reconciliationAdjustmentJournal('mer_1', 'USD', { kind: 'merchant_chargeback', amount: -5n }, stamp),
  );
});
