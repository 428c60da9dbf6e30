// Words a payer understands for each code the API answers. Decline reasons that would help a thief
// (lost, stolen, fraud) read as a plain decline.
import { ApiProblem } from './api.ts';

const declines: Record<string, string> = {
  insufficient_funds: 'Your card has insufficient funds. Please use another card.',
  expired_card: 'Your card has expired. Please use another card.',
  incorrect_cvc: 'The security code (CVC) is incorrect. Please check it and try again.',
  processing_error: 'We could not process your card just now. Please try again or use another card.',
};

const problems: Record<string, string> = {
  invalid_number: 'The card number is not valid. Please check it.',
  invalid_cvc: 'The security code (CVC) is not valid. Please check it.',
  invalid_expiry_month: 'The expiry date is not valid. Please check it.',
  invalid_expiry_year: 'The expiry date is not valid. Please check it.',
  expired_card: 'Your card has expired. Please use another card.',
  invalid_holder_name: 'Please check the name on the card.',
  checkout_session_completed: 'This payment has already been made.',
  checkout_session_expired: 'This payment page has expired. Please return to the store and start again.',
  checkout_session_not_found: 'This payment page does not exist. Please return to the store and start again.',
  checkout_attempts_exhausted: 'Too many attempts. Please return to the store and start again.',
  checkout_payment_in_progress: 'Your payment is still being processed. Please wait a moment.',
  rate_limited: 'Too many attempts in a short time. Please wait a minute and try again.',
  network_error: 'We could not reach the payment service. Please check your connection and try again.',
};

export function messageFor(error: unknown): string {
  if (error instanceof ApiProblem) {
    if (error.code === 'payment_declined') {
      const reason = error.details['declineCode'];
      return (
        (typeof reason === 'string' && declines[reason]) || 'Your card was declined. Please use another card.'
      );
    }
    const known = problems[error.code];
    if (known) return known;
    if (error.status >= 500) return 'Something went wrong on our side. Please try again in a moment.';
  }
  return 'Something went wrong. Please try again.';
}
