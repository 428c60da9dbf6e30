// POST /payments/{id}/refund, an operation of the pipeline (pipeline.ts). Steps: validate (read the
// payment) → phase 1 (check status then amount against captured − refunded − refunds in flight,
// reserve its amount and insert the PENDING refund: on the payment as read, guarded by its version, in
// a shared transaction; step by step under its row lock when it changed or the key existed) → the
// acquirer refund under `{refundId}.refund` → apply (refund REFUNDED, payment amounts and status,
// refund journal, event).
import assert from 'node:assert/strict';
import type { TransactionSql } from '../../../platform/db/client.ts';
import { DomainError } from '../../../platform/errors.ts';
import { planRefund, statusAfterRefund, transition } from '../domain/payment-state.ts';
import { references, refundAnswer, type Payment, type Refund } from '../domain/payment.ts';
import {
  findPayment,
  findRefund,
  insertRefund,
  lockPayment,
  settleRefund,
  updatePayment,
  type PaymentChanges,
} from '../infra/payment-repository.ts';
import { eventPayload } from './apply-authorization.ts';
import type { PaymentsDependencies } from './dependencies.ts';
import { paymentNotFound } from './payment-errors.ts';
import {
  acquirerContinuation,
  acquirerRequestContinuation,
  claimOnReadPayment,
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

/** What a refund's continuation works on: the refund, and what it needs of its payment. */
interface RefundSubject {
  readonly refund: Refund;
  readonly payment: {
    readonly status: Parameters<typeof refundAnswer>[1];
    readonly acquirerAuthorizationId: string | null;
  };
  /** The payment as phase 1 left it (absent when loaded later): phase 2 tries it unlocked first. */
  readonly reserved?: Payment | undefined;
}

/** After phase 1: the acquirer refund under the refund's reference, and phase 2. */
const refundSteps: AcquirerSteps<RefundSubject> = {
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
  async apply(transaction, dependencies, _key, { refund, reserved }, outcome) {
    // On the payment as phase 1 left it, guarded by its version: no lock and no re-read of the refund.
    // A miss wrote nothing: lock the payment and decide on what is there now.
    const settled =
      (reserved &&
        (await recordRefundOutcomeIfUnchanged(transaction, dependencies, refund, reserved, outcome))) ||
      (await recordRefundOutcome(transaction, dependencies, refund, outcome));
    return refundAnswer(settled.refund, settled.paymentStatus);
  },
};

/** The amount a refund of `payment` reserves, or the refusal. */
function planRefundOf(payment: Payment, requested: bigint | undefined): bigint | DomainError {
  const refundedSoFar = payment.refundedAmount + payment.refundingAmount;
  const refundAmount = requested ?? payment.capturedAmount - refundedSoFar;
  if (refundAmount <= 0n && payment.capturedAmount > 0n) {
    return new DomainError('refund_exceeds_captured', 409, 'Nothing is left to refund on this payment.');
  }
  const plan = planRefund({
    status: payment.status,
    captured: payment.capturedAmount,
    refundedSoFar,
    refundAmount: refundAmount > 0n ? refundAmount : 1n,
  });
  if (!plan.ok) return new DomainError(plan.code, plan.status, plan.message, { retryable: plan.retryable });
  return refundAmount;
}

/** Phase 1's writes on `payment` (as read, or locked): the amount reserved, the PENDING refund. */
async function reserveRefund(
  transaction: TransactionSql,
  payment: Payment,
  input: RefundInput,
  refundId: string,
  amount: bigint,
  now: Date,
): Promise<RefundSubject | undefined> {
  const reserved = await updatePayment(
    transaction,
    payment,
    { refunding_amount: payment.refundingAmount + amount },
    now,
  );
  if (!reserved) return undefined;
  const refund = await insertRefund(transaction, {
    id: refundId,
    paymentId: payment.id,
    merchantId: payment.merchantId,
    amount,
    currency: payment.currency,
    reason: input.reason ?? null,
    metadata: input.metadata,
    processorReference: references.refund(refundId),
    now,
  });
  return {
    refund,
    payment: { status: reserved.status, acquirerAuthorizationId: reserved.acquirerAuthorizationId },
    reserved,
  };
}

/**
 * Refund as an operation of the pipeline. `validate` reads the payment; phase 1 reserves the amount on
 * it as read, in a shared transaction, or step by step under its row lock when it changed.
 */
export const refundOperation: PaymentOperation<RefundInput, Payment, RefundSubject> = {
  kind: 'refund',
  async validate(dependencies, input) {
    const existing = await findPayment(dependencies.sql, input.merchantId, input.paymentId);
    if (!existing) throw paymentNotFound();
    return existing;
  },
  async claimNewKey(_sql, dependencies, input, read, now, firstAttemptAt) {
    const amount = planRefundOf(read, input.amount);
    if (amount instanceof DomainError) return undefined;
    const refundId = dependencies.ids.newId('ref');
    return claimOnReadPayment(
      dependencies,
      input,
      { operation: 'refund', resourceId: refundId, now, firstAttemptAt },
      (transaction) => reserveRefund(transaction, read, input, refundId, amount, now),
    );
  },
  async phase1(transaction, dependencies, input, now) {
    const payment = await lockPayment(transaction, input.merchantId, input.paymentId);
    if (!payment) throw paymentNotFound();
    const amount = planRefundOf(payment, input.amount);
    if (amount instanceof DomainError) throw amount;
    const refundId = dependencies.ids.newId('ref');
    const subject = await reserveRefund(transaction, payment, input, refundId, amount, now);
    assert.ok(subject, 'the payment changed under its row lock');
    return { type: 'continue', resourceId: refundId, subject };
  },
  continueRequest: acquirerRequestContinuation(refundSteps),
  continueKey: acquirerContinuation(refundSteps),
};

async function lockFreePayment(
  dependencies: PaymentsDependencies,
  refund: Refund,
): Promise<RefundSubject['payment']> {
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
  const payment = await lockPayment(transaction, refund.merchantId, refund.paymentId);
  assert.ok(payment, 'the payment of a refund exists');
  const current = await findRefund(transaction, refund.merchantId, refund.id);
  if (current?.status !== 'PENDING') return { refund: current ?? refund, paymentStatus: payment.status };
  const recorded = await recordRefundOutcomeIfUnchanged(transaction, dependencies, current, payment, outcome);
  assert.ok(recorded, 'the payment changed under its row lock');
  return recorded;
}

/**
 * Phase 2 of a PENDING refund on `payment` as it was read with the refund's amount reserved: the
 * payment's change first, guarded by its version — undefined, having written nothing, when the payment
 * changed since (a refund is settled only together with its payment's change, so an unchanged payment
 * means a still PENDING refund) — then the refund, its journal and event.
 */
async function recordRefundOutcomeIfUnchanged(
  transaction: TransactionSql,
  dependencies: PaymentsDependencies,
  refund: Refund,
  payment: Payment,
  outcome: FinalOutcome,
): Promise<{ refund: Refund; paymentStatus: Parameters<typeof refundAnswer>[1] } | undefined> {
  const now = dependencies.clock.now();
  const refundingAmount = payment.refundingAmount - refund.amount;
  let changes: PaymentChanges = { refunding_amount: refundingAmount };
  if (outcome.type !== 'declined') {
    const refundedAfter = payment.refundedAmount + refund.amount;
    const next = statusAfterRefund({ captured: payment.capturedAmount, refundedAfter });
    const moved = transition(payment.status, next === 'REFUNDED' ? 'refund_full' : 'refund_partial');
    assert.ok(moved.ok && moved.next === next, `a refund cannot apply to a ${payment.status} payment`);
    changes = { status: next, refunded_amount: refundedAfter, refunding_amount: refundingAmount };
  }
  const updated = await updatePayment(transaction, payment, changes, now);
  if (!updated) return undefined;
  const settled = await settleRefund(
    transaction,
    refund.id,
    outcome.type === 'declined'
      ? { status: 'FAILED', declineCode: outcome.declineCode }
      : { status: 'REFUNDED', acquirerRefundId: outcome.operationId },
    now,
  );
  assert.ok(settled, `refund ${refund.id} was settled without its payment changing`);
  if (outcome.type === 'declined') return { refund: settled, paymentStatus: updated.status };
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
