// POST /payments/{id}/capture. Phases: resolve a still-unknown authorization first → phase 1 tx (claim
// the key, lock the payment row FOR UPDATE, check status then amount, mark the capture pending) →
// outside any tx: the acquirer capture under `{paymentId}.capture` → phase 2 tx (CAPTURED, capture
// journal, event, stored answer). Of concurrent captures exactly one passes phase 1; the rest get 409.
import assert from 'node:assert/strict';
import type { TransactionSql } from '../../../platform/db/client.ts';
import { DomainError } from '../../../platform/errors.ts';
import { planCapture } from '../domain/payment-state.ts';
import {
  captureAnswer,
  operationDeclinedAnswer,
  references,
  type ApiAnswer,
  type Payment,
} from '../domain/payment.ts';
import { nextAttemptAt } from '../domain/retry-schedule.ts';
import { markPhase1Committed } from '../infra/idempotency-repository.ts';
import { findPayment, lockPayment, updatePayment } from '../infra/payment-repository.ts';
import { capturedEventPayload } from './apply-authorization.ts';
import {
  crashIfFaultInjected,
  type ContinuationMode,
  type KeyRef,
  type PaymentsDependencies,
} from './dependencies.ts';
import { claimKey } from './idempotency.ts';
import { answerClaim, finish, inquireThenSend, keepUnresolvedOperation } from './key-steps.ts';
import type { OperationOutcome } from './ports.ts';
import type { RequestAnswer } from './authorize-payment.ts';
import { resolveResource } from './resolve-resource.ts';
import { amountToJson } from '../../../platform/money.ts';

export interface CaptureInput {
  readonly merchantId: string;
  readonly paymentId: string;
  readonly idempotencyKey: string;
  readonly fingerprint: string;
  /** Absent: the whole authorized amount. */
  readonly amount: bigint | undefined;
}

export function paymentNotFound(): DomainError {
  return new DomainError('payment_not_found', 404, 'No such payment.');
}

/** A payment the fraud screening sent to review is captured only once approved (ADR 21). */
export function paymentInReview(payment: Payment): DomainError {
  return new DomainError(
    'payment_in_review',
    409,
    payment.review === 'rejected'
      ? 'The payment was rejected in review; it cannot be captured.'
      : 'The payment is in review: approve it (POST /fraud/reviews/{paymentId}/approve) before capturing.',
    { review: payment.review },
  );
}

export function operationInProgress(): DomainError {
  return new DomainError(
    'payment_operation_in_progress',
    409,
    'Another capture or void of this payment is in progress; retry later.',
    { retryable: true },
    { 'retry-after': '1' },
  );
}

export async function capturePayment(
  dependencies: PaymentsDependencies,
  input: CaptureInput,
): Promise<RequestAnswer> {
  const existing = await findPayment(dependencies.sql, input.merchantId, input.paymentId);
  if (!existing) throw paymentNotFound();
  if (existing.status === 'PENDING') await resolveResource(dependencies, existing.id, 'retry');
  const now = dependencies.clock.now();
  const claim = await dependencies.sql.begin(async (transaction) => {
    const claimed = await claimKey(transaction, {
      merchantId: input.merchantId,
      key: input.idempotencyKey,
      operation: 'capture',
      fingerprint: input.fingerprint,
      now,
      lockTimeoutMs: dependencies.settings.keyLockTimeoutMs,
    });
    if (claimed.type !== 'new') return claimed;
    const payment = await lockPayment(transaction, input.merchantId, input.paymentId);
    if (!payment) throw paymentNotFound();
    if (payment.review === 'pending' || payment.review === 'rejected') throw paymentInReview(payment);
    if (payment.pendingOperation !== null) throw operationInProgress();
    const plan = planCapture({
      status: payment.status,
      authorized: payment.authorizedAmount,
      captureAmount: input.amount ?? payment.authorizedAmount,
    });
    if (!plan.ok) throw new DomainError(plan.code, plan.status, plan.message, { retryable: plan.retryable });
    const marked = await updatePayment(
      transaction,
      payment,
      { pending_operation: 'capture', pending_operation_amount: plan.captured },
      now,
    );
    assert.ok(marked, 'the payment changed under its row lock');
    await markPhase1Committed(
      transaction,
      input.merchantId,
      input.idempotencyKey,
      payment.id,
      nextAttemptAt(dependencies.settings.inquiryScheduleMs, 0, now),
    );
    return { type: 'fresh', resourceId: payment.id, attempts: 0 } as const;
  });
  return answerClaim(claim, input, (key, mode) => continueCapture(dependencies, key, mode));
}

export async function continueCapture(
  dependencies: PaymentsDependencies,
  key: KeyRef,
  mode: ContinuationMode,
): Promise<ApiAnswer> {
  const payment = await findPayment(dependencies.sql, key.merchantId, key.resourceId);
  if (!payment) throw new Error(`payment ${key.resourceId} of an idempotency key is missing`);
  return settleCapture(dependencies, key, mode, payment, captureAnswer);
}

/** Sends (or asks about) the pending capture and records its outcome; shared with sales (capture: true). */
export async function settleCapture(
  dependencies: PaymentsDependencies,
  key: KeyRef,
  mode: ContinuationMode,
  payment: Payment,
  answerOf: (payment: Payment) => ApiAnswer,
): Promise<ApiAnswer> {
  if (payment.pendingOperation !== 'capture') {
    return dependencies.sql.begin((transaction) => finish(transaction, key, answerOf(payment)));
  }
  const reference = references.capture(payment.id);
  const acquirerId = payment.acquirerAuthorizationId;
  assert.ok(
    acquirerId !== null && payment.pendingOperationAmount !== null,
    'a pending capture has an authorization',
  );
  const amount = payment.pendingOperationAmount;
  const outcome = await inquireThenSend(
    mode,
    () => dependencies.processors.operations.inquireOperation(reference),
    () => dependencies.processors.operations.capture(acquirerId, reference, amount),
  );
  if (outcome.type === 'unknown' || outcome.type === 'pending') {
    await keepUnresolvedOperation(dependencies, key, mode, outcome, 'pending');
    return answerOf(payment);
  }
  crashIfFaultInjected(dependencies);
  return dependencies.sql.begin(async (transaction) => {
    const current = await lockPayment(transaction, key.merchantId, key.resourceId);
    if (!current) throw new Error(`payment ${key.resourceId} vanished`);
    if (current.pendingOperation !== 'capture') return finish(transaction, key, answerOf(current));
    const updated = await recordCapture(transaction, dependencies, current, outcome);
    if (outcome.type === 'declined' && answerOf === captureAnswer) {
      return finish(transaction, key, operationDeclinedAnswer('capture', current.id, outcome.declineCode));
    }
    return finish(transaction, key, answerOf(updated));
  });
}

/**
 * Phase 2 of a capture on a payment locked by the caller (a merchant's capture, a sale, a capture owed
 * on approval): CAPTURED with its journal and event, or on a decline the pending capture cleared.
 */
export async function recordCapture(
  transaction: TransactionSql,
  dependencies: PaymentsDependencies,
  payment: Payment,
  outcome: Exclude<OperationOutcome, { type: 'unknown' | 'pending' }>,
): Promise<Payment> {
  const now = dependencies.clock.now();
  if (outcome.type === 'declined') {
    const cleared = await updatePayment(
      transaction,
      payment,
      { pending_operation: null, pending_operation_amount: null },
      now,
    );
    assert.ok(cleared, 'the payment changed under its row lock');
    return cleared;
  }
  const amount = payment.pendingOperationAmount!;
  const plan = planCapture({
    status: payment.status,
    authorized: payment.authorizedAmount,
    captureAmount: amount,
  });
  assert.ok(plan.ok, `a pending capture of ${payment.id} became impossible`);
  const updated = await updatePayment(
    transaction,
    payment,
    {
      status: plan.next,
      captured_amount: plan.captured,
      captured_at: now,
      pending_operation: null,
      pending_operation_amount: null,
      expires_at: null,
    },
    now,
  );
  assert.ok(updated, 'the payment changed under its row lock');
  const ref = { paymentId: updated.id, merchantId: updated.merchantId, currency: updated.currency };
  await dependencies.ledger.record(
    transaction,
    ref,
    { kind: 'capture', captured: plan.captured, authorized: payment.authorizedAmount },
    now,
  );
  await dependencies.events.stage(transaction, {
    type: 'payment.captured.v1',
    aggregateId: updated.id,
    merchantId: updated.merchantId,
    payload: { ...capturedEventPayload(updated), releasedAmount: amountToJson(plan.released) },
    occurredAt: now,
  });
  return updated;
}
