import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Payment, Refund } from './payment.ts';
import { paymentTimeline, timelineView } from './payment-timeline.ts';

const at = (minute: number) => new Date(Date.UTC(2026, 11, 4, 8, minute));

const authorized: Payment = {
  id: 'pay_0000000000000000000000000a',
  merchantId: 'mer_1',
  amount: 5000n,
  currency: 'USD',
  method: 'card',
  token: 'tok_1',
  captureOnAuthorize: false,
  returnUrl: null,
  receiptEmail: null,
  receiptPhone: null,
  status: 'AUTHORIZED',
  authorizedAmount: 5000n,
  capturedAmount: 0n,
  refundedAmount: 0n,
  refundingAmount: 0n,
  version: 1,
  processorReference: 'pay_0000000000000000000000000a.authorization',
  acquirerAuthorizationId: 'auth_1',
  declineCode: null,
  nextAction: null,
  metadata: {},
  pendingOperation: null,
  pendingOperationAmount: null,
  expiresAt: null,
  createdAt: at(0),
  updatedAt: at(1),
  authorizedAt: at(1),
  capturedAt: null,
  voidedAt: null,
  risk: { decision: 'allow', score: 12, riskLevel: 'normal', reasons: [], rulesetVersion: 1 },
  review: null,
};

function refund(id: string, status: Refund['status'], created: number, updated: number): Refund {
  return {
    id,
    paymentId: authorized.id,
    merchantId: 'mer_1',
    amount: 1000n,
    currency: 'USD',
    status,
    reason: null,
    metadata: {},
    processorReference: `${id}.refund`,
    acquirerRefundId: null,
    declineCode: status === 'FAILED' ? 'card_declined' : null,
    createdAt: at(created),
    updatedAt: at(updated),
  };
}

test('an authorized payment: created, screened, authorized, in that order', () => {
  assert.deepEqual(
    paymentTimeline(authorized, []).map((entry) => [entry.type, entry.amount, entry.detail]),
    [
      ['created', 5000n, undefined],
      ['screened', undefined, 'allow'],
      ['authorized', 5000n, undefined],
    ],
  );
});

test('a captured payment with refunds interleaves them by time, each refund with its outcome', () => {
  const captured: Payment = {
    ...authorized,
    status: 'PARTIALLY_REFUNDED',
    capturedAmount: 4000n,
    refundedAmount: 1000n,
    capturedAt: at(2),
    updatedAt: at(6),
  };
  const timeline = paymentTimeline(captured, [
    refund('ref_b', 'FAILED', 5, 6),
    refund('ref_a', 'REFUNDED', 3, 4),
    refund('ref_c', 'PENDING', 7, 7),
  ]);
  assert.deepEqual(
    timeline.map((entry) => `${entry.type}${entry.refundId ? `:${entry.refundId}` : ''}`),
    [
      'created',
      'screened',
      'authorized',
      'captured',
      'refund_requested:ref_a',
      'refunded:ref_a',
      'refund_requested:ref_b',
      'refund_failed:ref_b',
      'refund_requested:ref_c',
    ],
  );
  assert.equal(timeline.find((entry) => entry.type === 'refund_failed')?.detail, 'card_declined');
  assert.equal(timeline.find((entry) => entry.type === 'captured')?.amount, 4000n);
});

test('failed, voided and expired payments end with that step; the view carries JSON integers', () => {
  const failed: Payment = {
    ...authorized,
    status: 'FAILED',
    authorizedAmount: 0n,
    authorizedAt: null,
    declineCode: 'card_declined',
    risk: null,
  };
  assert.deepEqual(
    paymentTimeline(failed, []).map((entry) => [entry.type, entry.detail]),
    [
      ['created', undefined],
      ['failed', 'card_declined'],
    ],
  );
  const voided: Payment = { ...authorized, status: 'VOIDED', voidedAt: at(9) };
  assert.equal(paymentTimeline(voided, []).at(-1)?.type, 'voided');
  const expired: Payment = { ...authorized, status: 'EXPIRED', updatedAt: at(30) };
  assert.equal(paymentTimeline(expired, []).at(-1)?.type, 'expired');
  const view = timelineView(authorized, paymentTimeline(authorized, []));
  assert.deepEqual(view.data[0], { type: 'created', at: at(0).toISOString(), amount: 5000 });
  assert.equal(view.currency, 'USD');
});
