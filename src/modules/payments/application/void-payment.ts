// POST /payments/{id}/void. Phases: phase 1 tx (claim the key, lock the payment, check the transition;
// a payment waiting for its payer is voided at once, it holds nothing, and owes the acquirer the
// cancel of its pending authorization, sent right after the commit) → outside any tx: the acquirer
// void under `{paymentId}.void` → phase 2 tx (VOIDED, hold released, event, stored answer).
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
import { nextAttemptAt } from '../domain/retry-schedule.ts';
import { markPhase1Committed } from '../infra/idempotency-repository.ts';
import { findPayment, lockPayment, updatePayment } from '../infra/payment-repository.ts';
import { oweReversal } from './acquirer-reversals.ts';
import { eventPayload } from './apply-authorization.ts';
import type { RequestAnswer } from './authorize-payment.ts';
import { operationInProgress, paymentNotFound } from './capture-payment.ts';
import {
  crashIfFaultInjected,
  type ContinuationMode,
  type KeyRef,
  type PaymentsDependencies,
} from './dependencies.ts';
import { claimKey } from './idempotency.ts';
import { sendOwedOperationNow } from './owed-operations.ts';
import { answerClaim, finish, inquireThenSend, keepUnresolvedOperation } from './key-steps.ts';
import { resolveResource } from './resolve-resource.ts';

export interface VoidInput {
  readonly merchantId: string;
  readonly paymentId: string;
  readonly idempotencyKey: string;
  readonly fingerprint: string;
}

/** Moves a payment to VOIDED with its ledger release and event (phase 2 of a void, or at once). */
export async function recordVoid(
  transaction: TransactionSql,
  dependencies: PaymentsDependencies,
  payment: Payment,
): Promise<Payment> {
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
  assert.ok(updated, 'the payment changed under its row lock');
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

type Phase1 =
  | { readonly type: 'replay'; readonly answer: ApiAnswer }
  | { readonly type: 'done'; readonly answer: ApiAnswer }
  | { readonly type: 'resume' | 'fresh'; readonly resourceId: string; readonly attempts: number };

export async function voidPayment(
  dependencies: PaymentsDependencies,
  input: VoidInput,
): Promise<RequestAnswer> {
  const existing = await findPayment(dependencies.sql, input.merchantId, input.paymentId);
  if (!existing) throw paymentNotFound();
  if (existing.status === 'PENDING') await resolveResource(dependencies, existing.id, 'retry');
  const now = dependencies.clock.now();
  const key = {
    merchantId: input.merchantId,
    key: input.idempotencyKey,
    resourceId: input.paymentId,
    attempts: 0,
  };
  const phase1 = await dependencies.sql.begin(async (transaction): Promise<Phase1> => {
    const claimed = await claimKey(transaction, {
      ...key,
      operation: 'void',
      fingerprint: input.fingerprint,
      now,
      lockTimeoutMs: dependencies.settings.keyLockTimeoutMs,
    });
    if (claimed.type !== 'new') return claimed;
    const payment = await lockPayment(transaction, input.merchantId, input.paymentId);
    if (!payment) throw paymentNotFound();
    if (payment.pendingOperation !== null) throw operationInProgress();
    const moved = transition(payment.status, 'void');
    if (!moved.ok)
      throw new DomainError(moved.code, moved.status, moved.message, { retryable: moved.retryable });
    await markPhase1Committed(
      transaction,
      input.merchantId,
      input.idempotencyKey,
      payment.id,
      nextAttemptAt(dependencies.settings.inquiryScheduleMs, 0, now),
    );
    if (moved.ledgerEffect === 'none') {
      const voided = await recordVoid(transaction, dependencies, payment);
      return { type: 'done', answer: await finish(transaction, key, voidAnswer(voided)) };
    }
    const marked = await updatePayment(
      transaction,
      payment,
      { pending_operation: 'void', pending_operation_amount: payment.authorizedAmount },
      now,
    );
    assert.ok(marked, 'the payment changed under its row lock');
    return { type: 'fresh', resourceId: payment.id, attempts: 0 };
  });
  if (phase1.type === 'done') {
    await sendOwedOperationNow(dependencies, input.paymentId, 'void');
    return { answer: phase1.answer, replayed: false };
  }
  return answerClaim(phase1, input, (resumed, mode) => continueVoid(dependencies, resumed, mode));
}

export async function continueVoid(
  dependencies: PaymentsDependencies,
  key: KeyRef,
  mode: ContinuationMode,
): Promise<ApiAnswer> {
  const payment = await findPayment(dependencies.sql, key.merchantId, key.resourceId);
  if (!payment) throw new Error(`payment ${key.resourceId} of an idempotency key is missing`);
  if (payment.pendingOperation !== 'void') {
    return dependencies.sql.begin((transaction) => finish(transaction, key, voidAnswer(payment)));
  }
  const reference = references.void(payment.id);
  const acquirerId = payment.acquirerAuthorizationId!;
  const outcome = await inquireThenSend(
    mode,
    () => dependencies.processors.operations.inquireOperation(reference),
    () => dependencies.processors.operations.void(acquirerId, reference),
  );
  if (outcome.type === 'unknown' || outcome.type === 'pending') {
    await keepUnresolvedOperation(dependencies, key, mode, outcome, 'pending');
    return voidAnswer(payment);
  }
  crashIfFaultInjected(dependencies);
  return dependencies.sql.begin(async (transaction) => {
    const current = await lockPayment(transaction, key.merchantId, key.resourceId);
    if (!current) throw new Error(`payment ${key.resourceId} vanished`);
    if (current.pendingOperation !== 'void') return finish(transaction, key, voidAnswer(current));
    if (outcome.type === 'declined') {
      const now = dependencies.clock.now();
      await updatePayment(
        transaction,
        current,
        { pending_operation: null, pending_operation_amount: null },
        now,
      );
      return finish(transaction, key, operationDeclinedAnswer('void', current.id, outcome.declineCode));
    }
    return finish(transaction, key, voidAnswer(await recordVoid(transaction, dependencies, current)));
  });
}
