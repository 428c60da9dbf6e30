// The review queue's decisions (ADR 21): a payment the screening sent to review is AUTHORIZED with
// `review: pending`, and captures are refused (409 payment_in_review) until someone decides.
// Approve: `review: approved`; a payment created with `capture: true` is then captured as a capture
// owed on approval (ADR 17's machinery: owed in this transaction, sent right after the commit and by
// the owed-operations job until the acquirer answers). Reject: `review: rejected`, then the
// authorization is voided at the acquirer as a merchant void is (VOIDED, hold released, event).
// Each decision and its event commit together.
import { createHash } from 'node:crypto';
import { DomainError } from '../../../platform/errors.ts';
import { paymentView, references, type Payment } from '../domain/payment.ts';
import { insertOwedOperation } from '../infra/owed-operation-repository.ts';
import { listPaymentsInReview, lockPayment, updatePayment } from '../infra/payment-repository.ts';
import { eventPayload } from './apply-authorization.ts';
import { paymentNotFound } from './capture-payment.ts';
import type { PaymentsDependencies } from './dependencies.ts';
import { sendOwedOperationNow } from './owed-operations.ts';
import { getPayment } from './read-payments.ts';
import { voidPayment } from './void-payment.ts';

export async function listInReview(
  dependencies: PaymentsDependencies,
  merchantId: string | undefined,
  limit: number,
) {
  const payments = await listPaymentsInReview(dependencies.sql, merchantId, limit);
  return payments.map((payment) => ({
    ...paymentView(payment),
    ...(merchantId === undefined && { merchantId: payment.merchantId }),
  }));
}

function notInReview(payment: Payment): DomainError {
  return new DomainError(
    'payment_not_in_review',
    409,
    payment.review === null
      ? 'The payment is not in review.'
      : `The review was already decided: ${payment.review}.`,
    { review: payment.review },
  );
}

export async function approveReview(
  dependencies: PaymentsDependencies,
  merchantId: string,
  paymentId: string,
) {
  const now = dependencies.clock.now();
  const captureOwed = await dependencies.sql.begin(async (transaction) => {
    const payment = await lockPayment(transaction, merchantId, paymentId);
    if (!payment) throw paymentNotFound();
    if (payment.review !== 'pending') throw notInReview(payment);
    const capture =
      payment.status === 'AUTHORIZED' &&
      payment.captureOnAuthorize &&
      payment.pendingOperation === null &&
      payment.acquirerAuthorizationId !== null;
    const updated = await updatePayment(
      transaction,
      payment,
      {
        review: 'approved',
        ...(capture && {
          pending_operation: 'capture' as const,
          pending_operation_amount: payment.authorizedAmount,
        }),
      },
      now,
    );
    if (!updated) throw new Error(`payment ${paymentId} changed under its row lock`);
    if (capture)
      await insertOwedOperation(transaction, {
        paymentId,
        operation: 'capture',
        merchantId,
        acquirerAuthorizationId: payment.acquirerAuthorizationId!,
        reference: references.approvalCapture(paymentId),
        reason: 'capture_on_approval',
        amount: payment.authorizedAmount,
        now,
      });
    await dependencies.events.stage(transaction, {
      type: 'payment.review_approved.v1',
      aggregateId: paymentId,
      merchantId,
      payload: { ...eventPayload(updated), review: 'approved' },
      occurredAt: now,
    });
    return capture;
  });
  if (captureOwed) await sendOwedOperationNow(dependencies, paymentId, 'capture');
  return getPayment(dependencies, merchantId, paymentId);
}

export async function rejectReview(
  dependencies: PaymentsDependencies,
  merchantId: string,
  paymentId: string,
) {
  const now = dependencies.clock.now();
  await dependencies.sql.begin(async (transaction) => {
    const payment = await lockPayment(transaction, merchantId, paymentId);
    if (!payment) throw paymentNotFound();
    if (payment.review !== 'pending') throw notInReview(payment);
    const updated = await updatePayment(transaction, payment, { review: 'rejected' }, now);
    if (!updated) throw new Error(`payment ${paymentId} changed under its row lock`);
    await dependencies.events.stage(transaction, {
      type: 'payment.review_rejected.v1',
      aggregateId: paymentId,
      merchantId,
      payload: { ...eventPayload(updated), review: 'rejected' },
      occurredAt: now,
    });
  });
  // The void, under its own idempotency key derived from the payment: a repeated reject after a
  // crash here resumes the same void (the key's janitor finishes an unknown outcome).
  await voidPayment(dependencies, {
    merchantId,
    paymentId,
    idempotencyKey: `review-reject.${paymentId}`,
    fingerprint: createHash('sha256').update(`review-reject:${paymentId}`).digest('hex'),
  });
  return getPayment(dependencies, merchantId, paymentId);
}
