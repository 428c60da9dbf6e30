// POST /payments/{id}/refund. Phases: phase 1 tx (claim the key, lock the payment FOR UPDATE, check
// status then amount against captured − refunded − refunds in flight, insert the PENDING refund and
// reserve its amount) → outside any tx: the acquirer refund under `{refundId}.refund` → phase 2 tx
// (refund REFUNDED, payment amounts and status, refund journal, event, stored answer).
import assert from 'node:assert/strict';
import type { TransactionSql } from '../../../platform/db/client.ts';
import { DomainError } from '../../../platform/errors.ts';
import { planRefund, statusAfterRefund, transition } from '../domain/payment-state.ts';
import { references, refundAnswer, type ApiAnswer, type Refund } from '../domain/payment.ts';
import { nextAttemptAt } from '../domain/retry-schedule.ts';
import { markPhase1Committed } from '../infra/idempotency-repository.ts';
import {
  findRefund,
  insertRefund,
  lockPayment,
  settleRefund,
  updatePayment,
} from '../infra/payment-repository.ts';
import { eventPayload } from './apply-authorization.ts';
import type { RequestAnswer } from './authorize-payment.ts';
import { paymentNotFound } from './capture-payment.ts';
import {
  crashIfFaultInjected,
  type ContinuationMode,
  type KeyRef,
  type PaymentsDependencies,
} from './dependencies.ts';
import { claimKey } from './idempotency.ts';
import { answerClaim, finish, inquireThenSend, keepUnresolvedOperation } from './key-steps.ts';
import type { OperationOutcome } from './ports.ts';
import { amountToJson } from '../../../platform/money.ts';

export interface RefundInput {
  readonly merchantId: string;
  readonly paymentId: string;
  readonly idempotencyKey: string;
  readonly fingerprint: string;
  /** Absent: everything still refundable. */
  readonly amount: bigint | undefined;
  readonly reason: string | undefined;
  readonly metadata: Record<string, unknown>;
}

export async function refundPayment(
  dependencies: PaymentsDependencies,
  input: RefundInput,
): Promise<RequestAnswer> {
  const now = dependencies.clock.now();
  const refundId = dependencies.ids.newId('ref');
  const claim = await dependencies.sql.begin(async (transaction) => {
    const claimed = await claimKey(transaction, {
      merchantId: input.merchantId,
      key: input.idempotencyKey,
      operation: 'refund',
      fingerprint: input.fingerprint,
      now,
      lockTimeoutMs: dependencies.settings.keyLockTimeoutMs,
    });
    if (claimed.type !== 'new') return claimed;
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
    await markPhase1Committed(
      transaction,
      input.merchantId,
      input.idempotencyKey,
      refundId,
      nextAttemptAt(dependencies.settings.inquiryScheduleMs, 0, now),
    );
    return { type: 'fresh', resourceId: refundId, attempts: 0 } as const;
  });
  return answerClaim(claim, input, (key, mode) => continueRefund(dependencies, key, mode));
}

export async function continueRefund(
  dependencies: PaymentsDependencies,
  key: KeyRef,
  mode: ContinuationMode,
): Promise<ApiAnswer> {
  const refund = await findRefund(dependencies.sql, key.merchantId, key.resourceId);
  if (!refund) throw new Error(`refund ${key.resourceId} of an idempotency key is missing`);
  const payment = await lockFreePayment(dependencies, refund);
  if (refund.status !== 'PENDING') {
    return dependencies.sql.begin((transaction) =>
      finish(transaction, key, refundAnswer(refund, payment.status)),
    );
  }
  const acquirerId = payment.acquirerAuthorizationId!;
  const outcome = await inquireThenSend(
    mode,
    () => dependencies.processors.operations.inquireOperation(refund.processorReference),
    () => dependencies.processors.operations.refund(acquirerId, refund.processorReference, refund.amount),
  );
  if (outcome.type === 'unknown' || outcome.type === 'pending') {
    await keepUnresolvedOperation(dependencies, key, mode, outcome, 'refund pending at the acquirer');
    return refundAnswer(refund, payment.status);
  }
  crashIfFaultInjected(dependencies);
  return dependencies.sql.begin(async (transaction) => {
    const settled = await recordRefundOutcome(transaction, dependencies, refund, outcome);
    return finish(transaction, key, refundAnswer(settled.refund, settled.paymentStatus));
  });
}

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
  outcome: Exclude<OperationOutcome, { type: 'unknown' | 'pending' }>,
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
    await updatePayment(
      transaction,
      payment,
      { refunding_amount: payment.refundingAmount - refund.amount },
      now,
    );
    return { refund: failed!, paymentStatus: payment.status };
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
