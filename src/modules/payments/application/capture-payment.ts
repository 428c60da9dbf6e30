// POST /payments/{id}/capture, an operation of the pipeline (pipeline.ts). Steps: validate (read the
// payment; resolve a still-unknown authorization first) → phase 1 (check review, status then amount,
// mark the capture pending: on the payment as read, guarded by its version, in a shared transaction;
// step by step under its row lock when it changed or the key existed) → the acquirer capture under
// `{paymentId}.capture` → apply (CAPTURED, capture journal, event). Of concurrent captures exactly one
// passes phase 1; the rest get 409. A sale (`capture: true`) continues its authorization with the
// same steps (settleCapture).
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
import { findPayment, lockPayment, updatePayment, type PaymentChanges } from '../infra/payment-repository.ts';
import { capturedEventPayload } from './apply-authorization.ts';
import type { ContinuationMode, KeyRef, PaymentsDependencies } from './dependencies.ts';
import { operationInProgress, paymentInReview, paymentNotFound } from './payment-errors.ts';
import {
  acquirerContinuation,
  acquirerRequestContinuation,
  applyToPendingPayment,
  claimOnReadPayment,
  continueWithSubject,
  type AcquirerSteps,
  type FinalOutcome,
  type OperationRequest,
  type PaymentOperation,
} from './pipeline.ts';
import { amountToJson } from '../../../platform/money.ts';

export interface CaptureInput extends OperationRequest {
  readonly paymentId: string;
  /** Absent: the whole authorized amount. */
  readonly amount: bigint | undefined;
}

async function loadPayment(dependencies: PaymentsDependencies, key: KeyRef): Promise<Payment> {
  const payment = await findPayment(dependencies.sql, key.merchantId, key.resourceId);
  if (!payment) throw new Error(`payment ${key.resourceId} of an idempotency key is missing`);
  return payment;
}

/**
 * After phase 1: the acquirer capture of the pending amount, and phase 2. `answerOf` answers for the
 * operation the capture continues (a merchant's capture, or a sale's authorization).
 */
function captureSteps(answerOf: (payment: Payment) => ApiAnswer): AcquirerSteps<Payment> {
  return {
    load: loadPayment,
    settledAnswer: (payment) => (payment.pendingOperation === 'capture' ? undefined : answerOf(payment)),
    inquire: (dependencies, payment) =>
      dependencies.processors.operations.inquireOperation(references.capture(payment.id)),
    send(dependencies, payment) {
      const acquirerId = payment.acquirerAuthorizationId;
      const amount = payment.pendingOperationAmount;
      assert.ok(acquirerId !== null && amount !== null, 'a pending capture has an authorization');
      return dependencies.processors.operations.capture(acquirerId, references.capture(payment.id), amount);
    },
    unknownAnswer: answerOf,
    pendingReason: 'pending',
    apply: (transaction, dependencies, key, payment, outcome) =>
      applyToPendingPayment(transaction, key, payment, 'capture', answerOf, async (pending) => {
        const updated = await recordCaptureIfUnchanged(transaction, dependencies, pending, outcome);
        if (!updated) return undefined;
        return outcome.type === 'declined' && answerOf === captureAnswer
          ? operationDeclinedAnswer('capture', updated.id, outcome.declineCode)
          : answerOf(updated);
      }),
  };
}

/** Sends (or asks about) the pending capture and records its outcome; shared with sales (capture: true). */
export function settleCapture(
  dependencies: PaymentsDependencies,
  key: KeyRef,
  mode: ContinuationMode,
  payment: Payment,
  answerOf: (payment: Payment) => ApiAnswer,
): Promise<ApiAnswer> {
  return continueWithSubject(dependencies, captureSteps(answerOf), key, mode, payment);
}

/** The change that marks a capture pending on `payment`, or the refusal. */
function markCapture(payment: Payment, amount: bigint | undefined): PaymentChanges | DomainError {
  if (payment.review === 'pending' || payment.review === 'rejected') return paymentInReview(payment);
  if (payment.pendingOperation !== null) return operationInProgress();
  const plan = planCapture({
    status: payment.status,
    authorized: payment.authorizedAmount,
    captureAmount: amount ?? payment.authorizedAmount,
  });
  if (!plan.ok) return new DomainError(plan.code, plan.status, plan.message, { retryable: plan.retryable });
  return { pending_operation: 'capture', pending_operation_amount: plan.captured };
}

const merchantCaptureSteps = captureSteps(captureAnswer);

/**
 * Capture as an operation of the pipeline. `validate` reads the payment; phase 1 marks the capture
 * pending on it as read, in a shared transaction, or step by step under its row lock when it changed.
 */
export const captureOperation: PaymentOperation<CaptureInput, Payment | undefined, Payment> = {
  kind: 'capture',
  async validate(dependencies, input, context) {
    const existing = await findPayment(dependencies.sql, input.merchantId, input.paymentId);
    if (!existing) throw paymentNotFound();
    if (existing.status !== 'PENDING') return existing;
    await context.resolve(existing.id);
    return undefined;
  },
  async claimNewKey(_sql, dependencies, input, read, now, firstAttemptAt) {
    if (read === undefined) return undefined;
    const changes = markCapture(read, input.amount);
    if (changes instanceof DomainError) return undefined;
    return claimOnReadPayment(
      dependencies,
      input,
      { operation: 'capture', resourceId: read.id, now, firstAttemptAt },
      (transaction) => updatePayment(transaction, read, changes, now),
    );
  },
  async phase1(transaction, _dependencies, input, now) {
    const payment = await lockPayment(transaction, input.merchantId, input.paymentId);
    if (!payment) throw paymentNotFound();
    const changes = markCapture(payment, input.amount);
    if (changes instanceof DomainError) throw changes;
    const marked = await updatePayment(transaction, payment, changes, now);
    assert.ok(marked, 'the payment changed under its row lock');
    return { type: 'continue', resourceId: payment.id, subject: marked };
  },
  continueRequest: acquirerRequestContinuation(merchantCaptureSteps),
  continueKey: acquirerContinuation(merchantCaptureSteps),
};

/**
 * Phase 2 of a capture on a payment locked by the caller (a merchant's capture, a sale, a capture owed
 * on approval): CAPTURED with its journal and event, or on a decline the pending capture cleared.
 */
export async function recordCapture(
  transaction: TransactionSql,
  dependencies: PaymentsDependencies,
  payment: Payment,
  outcome: FinalOutcome,
): Promise<Payment> {
  const updated = await recordCaptureIfUnchanged(transaction, dependencies, payment, outcome);
  assert.ok(updated, 'the payment changed under its row lock');
  return updated;
}

/**
 * Phase 2 of a capture on `payment` with a capture pending, its first write guarded by the payment's
 * version: undefined, having written nothing, when the payment changed since `payment` was read.
 */
async function recordCaptureIfUnchanged(
  transaction: TransactionSql,
  dependencies: PaymentsDependencies,
  payment: Payment,
  outcome: FinalOutcome,
): Promise<Payment | undefined> {
  const now = dependencies.clock.now();
  if (outcome.type === 'declined') {
    return updatePayment(
      transaction,
      payment,
      { pending_operation: null, pending_operation_amount: null },
      now,
    );
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
  if (!updated) return undefined;
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
