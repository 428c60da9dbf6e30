// Which outcome an account number (card number or wallet network token) produces. Stripe's test
// numbers plus PayFlow's own timeout cards; any other Luhn-valid number is approved.

/** How the simulator behaves around the decision, beyond the decision itself. */
export type CardBehaviour =
  | 'normal'
  /** Decision recorded at once, answer held back: "times out after the acquirer approved". */
  | 'answer_late'
  /** Nothing recorded until the delay ends: "times out before the acquirer decided". */
  | 'record_late'
  /** Refunds are accepted as pending, then fail asynchronously. */
  | 'refunds_fail';

export interface CardOutcome {
  readonly status: 'approved' | 'declined' | 'error';
  readonly declineCode?: string;
  readonly behaviour: CardBehaviour;
}

const approved: CardOutcome = { status: 'approved', behaviour: 'normal' };

function declined(declineCode: string): CardOutcome {
  return { status: 'declined', declineCode, behaviour: 'normal' };
}

export const testCards: ReadonlyMap<string, CardOutcome> = new Map<string, CardOutcome>([
  ['4242424242424242', approved],
  ['5555555555554444', approved],
  ['4000000000000002', declined('card_declined')],
  ['4000000000009995', declined('insufficient_funds')],
  ['4000000000009987', declined('lost_card')],
  ['4000000000009979', declined('stolen_card')],
  ['4000000000000069', declined('expired_card')],
  ['4000000000000127', declined('incorrect_cvc')],
  ['4000000000000119', { status: 'error', declineCode: 'processing_error', behaviour: 'normal' }],
  // Disputed later in Stripe's world; the simulator has no disputes, so it is simply approved.
  ['4000000000000259', approved],
  ['4000000000005126', { status: 'approved', behaviour: 'refunds_fail' }],
  ['4000000000003220', { status: 'approved', behaviour: 'answer_late' }],
  ['4000000000003238', { status: 'approved', behaviour: 'record_late' }],
  // Stripe Radar-like cards: the acquirer approves them; PayFlow's fraud screening is what
  // stops them (ADR 21): always blocked, highest risk (blocked by default), elevated (sent to review).
  ['4100000000000019', approved],
  ['4000000000004954', approved],
  ['4000000000009235', approved],
]);

/** The Luhn (mod 10) check every real card number passes. */
export function passesLuhn(accountNumber: string): boolean {
  if (!/^[0-9]+$/.test(accountNumber)) return false;
  let sum = 0;
  for (let index = 0; index < accountNumber.length; index += 1) {
    const digit = Number(accountNumber[accountNumber.length - 1 - index]);
    const doubled = index % 2 === 1 ? digit * 2 : digit;
    sum += doubled > 9 ? doubled - 9 : doubled;
  }
  return sum % 10 === 0;
}

/** The Luhn-valid number that `digits` (the number without its check digit) makes with its check digit. */
export function withLuhnCheckDigit(digits: string): string {
  for (let check = 0; check < 10; check += 1) {
    const candidate = `${digits}${check}`;
    if (passesLuhn(candidate)) return candidate;
  }
  throw new Error(`no check digit fits ${digits}`); // unreachable: exactly one digit fits
}

export function outcomeForAccountNumber(accountNumber: string): CardOutcome {
  const known = testCards.get(accountNumber);
  if (known) return known;
  return passesLuhn(accountNumber) ? approved : declined('incorrect_number');
}

export function lastFour(accountNumber: string): string {
  return accountNumber.slice(-4);
}
