// POST /payments/{id}/refund, an operation of the pipeline (pipeline.ts). Steps: phase 1 (lock the
// payment FOR UPDATE, check status then amount against captured − refunded − refunds in flight,
// insert the PENDING refund and reserve its amount) → the acquirer refund under `{refundId}.refund` →
// apply (refund REFUNDED, payment amounts and status, refund journal, event).
import assert from 'node:assert/strict';
import type { TransactionSql } from '../../../platform/db/client.ts';
import { DomainError } from '../../../platform/errors.ts';
import { planRefund, statusAfterRefund, transition } from '../domain/payment-state.ts';
import { references, refundAnswer, type Refund } from '../domain/payment.ts';
import {
  findRefund,
  insertRefund,
  lockPayment,
  settleRefund,
  updatePayment,
} from '../infra/payment-repository.ts';
import { eventPayload } from './apply-authorization.ts';
import type { PaymentsDependencies } from './dependencies.ts';
import { paymentNotFound } from './payment-errors.ts';
import {
  acquirerContinuation,
  type AcquirerSteps,
  type FinalOutcome,
  type OperationRequest,
  type PaymentOperation,
} from './pipeline.ts';
import { amountToJson } from '../../../platform/money.ts';

export interface RefundInput extends OperationRequest {
  readonly paymentId: string;
  /** Absent: everything still refundable. */
  readonly amount: bigint | undefined;
  readonly reason: string | undefined;
  readonly metadata: Record<string, unknown>;
}

type PaymentOfRefund = Awaited<ReturnType<typeof lockFreePayment>>;

/** After phase 1: the acquirer refund under the refund's reference, and phase 2. */
const refundSteps: AcquirerSteps<{ readonly refund: Refund; readonly payment: PaymentOfRefund }> = {
  async load(dependencies, key) {
    const refund = await findRefund(dependencies.sql, key.merchantId, key.resourceId);
    if (!refund) throw new Error(`refund ${key.resourceId} of an idempotency key is missing`);
    return { refund, payment: await lockFreePayment(dependencies, refund) };
  },
  settledAnswer: ({ refund, payment }) =>
    refund.status === 'PENDING' ? undefined : refundAnswer(refund, payment.status),
  inquire: (dependencies, { refund }) =>
    dependencies.processors.operations.inquireOperation(refund.processorReference),
  send: (dependencies, { refund, payment }) =>
    dependencies.processors.operations.refund(
      payment.acquirerAuthorizationId!,
      refund.processorReference,
      refund.amount,
    ),
  unknownAnswer: ({ refund, payment }) => refundAnswer(refund, payment.status),
  pendingReason: 'refund pending at the acquirer',
  async apply(transaction, dependencies, _key, { refund }, outcome) {
    const settled = await recordRefundOutcome(transaction, dependencies, refund, outcome);
    return refundAnswer(settled.refund, settled.paymentStatus);
  },
};

export const refundOperation: PaymentOperation<RefundInput> = {
  kind: 'refund',
  async phase1(transaction, dependencies, input, now) {
    const refundId = dependencies.ids.newId('ref');
    const payment = await lockPayment(transaction, input.merchantId, input.paymentId);
    if (!payment) throw paymentNotFound();
    const refundedSoFar = payment.refundedAmount + payment.refundingAmount;
    const refundAmount = input.amount ?? payment.capturedAmount - refundedSoFar;
    if (refundAmount <= 0n && payment.capturedAmount > 0n) {
      throw new DomainError('refund_exceeds_captured', 409, 'Nothing is left to refund on this payment.');
    }
    const plan = planRefund({
      status: payment.status,
      captured: payment.capturedAmount,
      refundedSoFar,
      refundAmount: refundAmount > 0n ? refundAmount : 1n,
    });
    if (!plan.ok) throw new DomainError(plan.code, plan.status, plan.message, { retryable: plan.retryable });
    await insertRefund(transaction, {
      id: refundId,
      paymentId: payment.id,
      merchantId: payment.merchantId,
      amount: refundAmount,
      currency: payment.currency,
      reason: input.reason ?? null,
      metadata: input.metadata,
      processorReference: references.refund(refundId),
      now,
    });
    const reserved = await updatePayment(
      transaction,
      payment,
      { refunding_amount: payment.refundingAmount + refundAmount },
      now,
    );
    assert.ok(reserved, 'the payment changed under its row lock');
    return { type: 'continue', resourceId: refundId };
  },
  continueKey: acquirerContinuation(refundSteps),
};

async function lockFreePayment(dependencies: PaymentsDependencies, refund: Refund) {
  const [payment] = await dependencies.sql<{ status: string; acquirer_authorization_id: string | null }[]>`
    select status, acquirer_authorization_id from payments.payments where id = ${refund.paymentId}`;
  assert.ok(payment, `payment ${refund.paymentId} of refund ${refund.id} is missing`);
  return {
    status: payment.status as Parameters<typeof refundAnswer>[1],
    acquirerAuthorizationId: payment.acquirer_authorization_id,
  };
}

/** Phase 2 of a refund, in the caller's transaction (also used for outcomes learnt later). */
export async function recordRefundOutcome(
  transaction: TransactionSql,
  dependencies: PaymentsDependencies,
  refund: Refund,
  outcome: FinalOutcome,
): Promise<{ refund: Refund; paymentStatus: Parameters<typeof refundAnswer>[1] }> {
  const now = dependencies.clock.now();
  const payment = await lockPayment(transaction, refund.merchantId, refund.paymentId);
  assert.ok(payment, 'the payment of a refund exists');
  const current = await findRefund(transaction, refund.merchantId, refund.id);
  if (current?.status !== 'PENDING') return { refund: current ?? refund, paymentStatus: payment.status };
  if (outcome.type === 'declined') {
    const failed = await settleRefund(
      transaction,
      refund.id,
      { status: 'FAILED', declineCode: outcome.declineCode },
      now,
    );
    const released = await updatePayment(
      transaction,
      payment,
      { refunding_amount: payment.refundingAmount - refund.amount },
      now,
    );
    assert.ok(failed && released, 'the payment changed under its row lock');
    return { refund: failed, paymentStatus: payment.status };
  }
  const refundedAfter = payment.refundedAmount + refund.amount;
  const next = statusAfterRefund({ captured: payment.capturedAmount, refundedAfter });
  const moved = transition(payment.status, next === 'REFUNDED' ? 'refund_full' : 'refund_partial');
  assert.ok(moved.ok && moved.next === next, `a refund cannot apply to a ${payment.status} payment`);
  const settled = await settleRefund(
    transaction,
    refund.id,
    { status: 'REFUNDED', acquirerRefundId: outcome.operationId },
    now,
  );
  const updated = await updatePayment(
    transaction,
    payment,
    {
      status: next,
      refunded_amount: refundedAfter,
      refunding_amount: payment.refundingAmount - refund.amount,
    },
    now,
  );
  assert.ok(settled && updated, 'the payment changed under its row lock');
  const ref = { paymentId: payment.id, merchantId: payment.merchantId, currency: payment.currency };
  await dependencies.ledger.record(transaction, ref, { kind: 'refund', refundAmount: refund.amount }, now);
  await dependencies.events.stage(transaction, {
    type: 'payment.refunded.v1',
    aggregateId: payment.id,
    merchantId: payment.merchantId,
    payload: { ...eventPayload(updated), refundId: refund.id, refundAmount: amountToJson(refund.amount) },
    occurredAt: now,
  });
  return { refund: settled, paymentStatus: updated.status };
}
