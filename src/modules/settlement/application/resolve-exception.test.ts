import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError } from '../../../platform/errors.ts';
import type { ReconciliationResultRow } from '../infra/settlement-repository.ts';
import { planAdjustment } from './resolve-exception.ts';

const mismatch: ReconciliationResultRow = {
  id: 'rcx_1',
  outcome: 'amount_mismatch',
  status: 'open',
  reference: 'pay_1.capture',
  currency: 'USD',
  expected_amount: 2_000n,
  reported_amount: 1_990n,
  item_id: 'evt_1',
  item_kind: 'capture',
  item_merchant_id: 'mer_1',
  item_currency: 'USD',
  item_payment_id: 'pay_1',
};

const code = (work: () => unknown) => {
  try {
    work();
  } catch (error) {
    assert.ok(error instanceof DomainError);
    return error.code;
  }
  return 'no error';
};

test('a capture settled for less: the bank got less', () => {
  const plan = planAdjustment(mismatch, 'acquirer_difference');
  assert.deepEqual(plan.adjustment, { kind: 'acquirer_difference', bankDifference: -10n });
});

test('a refund reported larger: the acquirer kept more, the bank got less', () => {
  const plan = planAdjustment(
    { ...mismatch, item_kind: 'refund', expected_amount: 500n, reported_amount: 510n },
    'acquirer_difference',
  );
  assert.deepEqual(plan.adjustment, { kind: 'acquirer_difference', bankDifference: -10n });
});

test('a cost reported higher than expected: the acquirer kept more, the bank got less', () => {
  const plan = planAdjustment(
    { ...mismatch, outcome: 'cost_mismatch', expected_amount: 45n, reported_amount: 46n },
    'acquirer_difference',
  );
  assert.deepEqual(plan.adjustment, { kind: 'acquirer_difference', bankDifference: -1n });
});

test('a chargeback is charged to the merchant of the capture it names', () => {
  const plan = planAdjustment(
    { ...mismatch, outcome: 'chargeback', expected_amount: null, reported_amount: 3_000n },
    'merchant_chargeback',
  );
  assert.deepEqual(
    [plan.merchantId, plan.adjustment],
    ['mer_1', { kind: 'merchant_chargeback', amount: 3_000n }],
  );
});

test('adjustments that do not fit are refused with a code', () => {
  assert.equal(
    code(() => planAdjustment(mismatch, 'merchant_chargeback')),
    'adjustment_not_applicable',
  );
  assert.equal(
    code(() =>
      planAdjustment(
        {
          ...mismatch,
          item_id: null,
          item_kind: null,
          item_merchant_id: null,
          item_currency: null,
          item_payment_id: null,
        },
        'acquirer_difference',
      ),
    ),
    'adjustment_not_applicable',
  );
  assert.equal(
    code(() => planAdjustment({ ...mismatch, currency: 'EUR' }, 'acquirer_difference')),
    'adjustment_not_applicable',
  );
  assert.equal(
    code(() => planAdjustment({ ...mismatch, reported_amount: 2_000n }, 'acquirer_difference')),
    'adjustment_not_applicable',
  );
});
