// POST /payments/{id}/void, an operation of the pipeline (pipeline.ts). Steps: validate (read the
// payment; resolve a still-unknown authorization first) → phase 1 (check the transition and mark the
// void pending: on the payment as read, guarded by its version, in a shared transaction; step by step
// under its row lock when it changed, the key existed, or the void applies at once: a payment waiting
// for its payer holds nothing and owes the acquirer the cancel of its pending authorization, sent right
// after the commit) → the acquirer void under `{paymentId}.void` → apply (VOIDED, hold released, event).
import assert from 'node:assert/strict';
import type { TransactionSql } from '../../../platform/db/client.ts';
import { DomainError } from '../../../platform/errors.ts';
import { transition, type LedgerEffect } from '../domain/payment-state.ts';
import {
  operationDeclinedAnswer,
  references,
  voidAnswer,
  type ApiAnswer,
  type Payment,
} from '../domain/payment.ts';
import { findPayment, lockPayment, updatePayment, type PaymentChanges } from '../infra/payment-repository.ts';
import { oweReversal } from './acquirer-reversals.ts';
import { eventPayload } from './apply-authorization.ts';
import type { PaymentsDependencies } from './dependencies.ts';
import { sendOwedOperationNow } from './owed-operations.ts';
import { operationInProgress, paymentNotFound } from './payment-errors.ts';
import {
  acquirerContinuation,
  acquirerRequestContinuation,
  applyToPendingPayment,
  claimOnReadPayment,
  type AcquirerSteps,
  type FinalOutcome,
  type OperationRequest,
  type PaymentOperation,
} from './pipeline.ts';

export interface VoidInput extends OperationRequest {
  readonly paymentId: string;
}

/**
 * Moves a payment locked by the caller to VOIDED with its ledger release and event (phase 2 of a
 * void, or at once).
 */
export async function recordVoid(
  transaction: TransactionSql,
  dependencies: PaymentsDependencies,
  payment: Payment,
): Promise<Payment> {
  const updated = await recordVoidIfUnchanged(transaction, dependencies, payment);
  assert.ok(updated, 'the payment changed under its row lock');
  return updated;
}

/**
 * recordVoid on `payment` as it was read, its first write guarded by the payment's version: undefined,
 * having written nothing, when the payment changed since.
 */
async function recordVoidIfUnchanged(
  transaction: TransactionSql,
  dependencies: PaymentsDependencies,
  payment: Payment,
): Promise<Payment | undefined> {
  const now = dependencies.clock.now();
  const moved = transition(payment.status, 'void');
  assert.ok(moved.ok, `a void cannot apply to a ${payment.status} payment`);
  const updated = await updatePayment(
    transaction,
    payment,
    {
      status: moved.next,
      voided_at: now,
      pending_operation: null,
      pending_operation_amount: null,
      expires_at: null,
      next_action: null,
    },
    now,
  );
  if (!updated) return undefined;
  if (payment.status === 'REQUIRES_ACTION') {
    assert.ok(
      payment.acquirerAuthorizationId,
      'a payment waiting for its payer has an acquirer authorization',
    );
    await oweReversal(transaction, dependencies, payment, payment.acquirerAuthorizationId, 'void');
  }
  await releaseAuthorization(transaction, dependencies, 'void', moved.ledgerEffect, payment, updated, now);
  return updated;
}

/**
 * The end of an authorization that moved no money (a void or an expiry), in the caller's
 * transaction: the ledger hold is released when the transition says so, and the event is staged.
 */
export async function releaseAuthorization(
  transaction: TransactionSql,
  dependencies: PaymentsDependencies,
  kind: 'void' | 'expiry',
  ledgerEffect: LedgerEffect,
  before: Payment,
  updated: Payment,
  now: Date,
): Promise<void> {
  if (ledgerEffect === 'release_hold') {
    const ref = { paymentId: updated.id, merchantId: updated.merchantId, currency: updated.currency };
    await dependencies.ledger.record(transaction, ref, { kind, authorized: before.authorizedAmount }, now);
  }
  await dependencies.events.stage(transaction, {
    type: kind === 'void' ? 'payment.voided.v1' : 'payment.expired.v1',
    aggregateId: updated.id,
    merchantId: updated.merchantId,
    payload: eventPayload(updated),
    occurredAt: now,
  });
}

/** After phase 1: the acquirer void of the payment's authorization, and phase 2. */
const voidSteps: AcquirerSteps<Payment> = {
  async load(dependencies, key) {
    const payment = await findPayment(dependencies.sql, key.merchantId, key.resourceId);
    if (!payment) throw new Error(`payment ${key.resourceId} of an idempotency key is missing`);
    return payment;
  },
  settledAnswer: (payment) => (payment.pendingOperation === 'void' ? undefined : voidAnswer(payment)),
  inquire: (dependencies, payment) =>
    dependencies.processors.operations.inquireOperation(references.void(payment.id)),
  send: (dependencies, payment) =>
    dependencies.processors.operations.void(payment.acquirerAuthorizationId!, references.void(payment.id)),
  unknownAnswer: voidAnswer,
  pendingReason: 'pending',
  apply: (transaction, dependencies, key, payment, outcome) =>
    applyToPendingPayment(transaction, key, payment, 'void', voidAnswer, (pending) =>
      applyVoidOutcome(transaction, dependencies, pending, outcome),
    ),
};

/**
 * The acquirer's final answer to a pending void applied to `payment` (guarded by its version): VOIDED,
 * or on a decline the pending void cleared; undefined, having written nothing, when it changed since.
 */
async function applyVoidOutcome(
  transaction: TransactionSql,
  dependencies: PaymentsDependencies,
  payment: Payment,
  outcome: FinalOutcome,
): Promise<ApiAnswer | undefined> {
  if (outcome.type !== 'declined') {
    const voided = await recordVoidIfUnchanged(transaction, dependencies, payment);
    return voided && voidAnswer(voided);
  }
  const cleared = await updatePayment(
    transaction,
    payment,
    { pending_operation: null, pending_operation_amount: null },
    dependencies.clock.now(),
  );
  return cleared && operationDeclinedAnswer('void', payment.id, outcome.declineCode);
}

/**
 * How a void starts on `payment`: `at once` for a payment waiting for its payer (it holds nothing),
 * else the change that marks the void pending; or the refusal.
 */
function startVoid(payment: Payment): 'at once' | PaymentChanges | DomainError {
  if (payment.pendingOperation !== null) return operationInProgress();
  const moved = transition(payment.status, 'void');
  if (!moved.ok)
    return new DomainError(moved.code, moved.status, moved.message, { retryable: moved.retryable });
  if (moved.ledgerEffect === 'none') return 'at once';
  return { pending_operation: 'void', pending_operation_amount: payment.authorizedAmount };
}

/**
 * Void as an operation of the pipeline. `validate` reads the payment; phase 1 marks the void pending
 * on it as read, in a shared transaction, or step by step under its row lock (also where the void
 * applies at once).
 */
export const voidOperation: PaymentOperation<VoidInput, Payment | undefined, Payment> = {
  kind: 'void',
  async validate(dependencies, input, context) {
    const existing = await findPayment(dependencies.sql, input.merchantId, input.paymentId);
    if (!existing) throw paymentNotFound();
    if (existing.status !== 'PENDING') return existing;
    await context.resolve(existing.id);
    return undefined;
  },
  async claimNewKey(_sql, dependencies, input, read, now, firstAttemptAt) {
    if (read === undefined) return undefined;
    const changes = startVoid(read);
    if (changes === 'at once' || changes instanceof DomainError) return undefined;
    return claimOnReadPayment(
      dependencies,
      input,
      { operation: 'void', resourceId: read.id, now, firstAttemptAt },
      (transaction) => updatePayment(transaction, read, changes, now),
    );
  },
  async phase1(transaction, dependencies, input, now) {
    const payment = await lockPayment(transaction, input.merchantId, input.paymentId);
    if (!payment) throw paymentNotFound();
    const changes = startVoid(payment);
    if (changes instanceof DomainError) throw changes;
    if (changes === 'at once') {
      const voided = await recordVoid(transaction, dependencies, payment);
      return {
        type: 'done',
        resourceId: payment.id,
        answer: voidAnswer(voided),
        afterCommit: (after) => sendOwedOperationNow(after, payment.id, 'void'),
      };
    }
    const marked = await updatePayment(transaction, payment, changes, now);
    assert.ok(marked, 'the payment changed under its row lock');
    return { type: 'continue', resourceId: payment.id, subject: marked };
  },
  continueRequest: acquirerRequestContinuation(voidSteps),
  continueKey: acquirerContinuation(voidSteps),
};
