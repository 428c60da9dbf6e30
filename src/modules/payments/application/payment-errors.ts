// The refusals the payments use cases share (a leaf: imports nothing of payments/application).
import { DomainError } from '../../../platform/errors.ts';
import type { Payment } from '../domain/payment.ts';

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
