// The review queue's decisions (ADR 21): a payment the screening sent to review is AUTHORIZED with
// `review: pending`, and captures are refused (409 payment_in_review) until someone decides.
// Approve: `review: approved`; a payment created with `capture: true` is then captured as a capture
// owed on approval (ADR 17's machinery: owed in this transaction, sent right after the commit and by
// the owed-operations job until the acquirer answers). Reject: `review: rejected`, then the
// authorization is voided at the acquirer as a merchant void is (VOIDED, hold released, event).
// Each decision and its event commit together.
import { DomainError } from '../../../platform/errors.ts';
import { paymentView, references, type Payment } from '../domain/payment.ts';
import { insertOwedOperation } from '../infra/owed-operation-repository.ts';
import { listPaymentsInReview, lockPayment, updatePayment } from '../infra/payment-repository.ts';
import { eventPayload } from './apply-authorization.ts';
import { paymentNotFound } from './payment-errors.ts';
import type { PaymentsDependencies } from './dependencies.ts';
import { sendOwedOperationNow } from './owed-operations.ts';
import { getPayment } from './read-payments.ts';
import { recordVoid } from './void-payment.ts';
import { oweReversal } from './acquirer-reversals.ts';

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

/** In review and still open: authorized (or awaiting its payer) with nothing in flight. */
function awaitsReview(payment: Payment): boolean {
  return (
    payment.review === 'pending' &&
    (payment.status === 'AUTHORIZED' || payment.status === 'REQUIRES_ACTION') &&
    payment.pendingOperation === null
  );
}

function notInReview(payment: Payment): DomainError {
  return new DomainError(
    'payment_not_in_review',
    409,
    payment.review === null
      ? 'The payment is not in review.'
      : payment.review === 'pending'
        ? `The payment is ${payment.status}${payment.pendingOperation === null ? '' : ` with a ${payment.pendingOperation} in progress`}: nothing to review.`
        : `The review was already decided: ${payment.review}.`,
    { review: payment.review, paymentStatus: payment.status },
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
    if (!awaitsReview(payment)) throw notInReview(payment);
    // awaitsReview: nothing is in flight.
    const capture =
      payment.status === 'AUTHORIZED' &&
      payment.captureOnAuthorize &&
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
  const reversalOwed = await dependencies.sql.begin(async (transaction) => {
    const payment = await lockPayment(transaction, merchantId, paymentId);
    if (!payment) throw paymentNotFound();
    if (!awaitsReview(payment)) throw notInReview(payment);
    const rejected = await updatePayment(transaction, payment, { review: 'rejected' }, now);
    if (!rejected) throw new Error(`payment ${paymentId} changed under its row lock`);
    await dependencies.events.stage(transaction, {
      type: 'payment.review_rejected.v1',
      aggregateId: paymentId,
      merchantId,
      payload: { ...eventPayload(rejected), review: 'rejected' },
      occurredAt: now,
    });
    // VOIDED with its hold released and payment.voided.v1, and the acquirer owed the void of the
    // authorization, all in this transaction: a crash after it leaves the void to the
    // owed-operations job, never an authorization held with no one owing its void.
    await recordVoid(transaction, dependencies, rejected);
    if (payment.status === 'AUTHORIZED' && payment.acquirerAuthorizationId !== null) {
      await oweReversal(transaction, dependencies, rejected, payment.acquirerAuthorizationId, 'void');
      return true;
    }
    return payment.status === 'REQUIRES_ACTION';
  });
  if (reversalOwed) await sendOwedOperationNow(dependencies, paymentId, 'void');
  return getPayment(dependencies, merchantId, paymentId);
}
