// Card and wallet expiry. A card printed "08/27" is valid through the last instant of August 2027,
// so it expires at the start of the following month. The comparison is in UTC so the answer does
// not depend on the server's time zone (schemes differ by issuer time zone; a few hours of grace
// at month end are the acquirer's call, not the vault's).
import { assertValidDate, validationFailure, type ValidationFailure } from './validation.ts';

export type ExpiryFailureCode = 'invalid_expiry_month' | 'invalid_expiry_year' | 'expired_card';
export type ExpiryField = 'expMonth' | 'expYear';

/** The earliest year a card may carry; anything older is a typo, not an expired card. */
export const expiryYearMin = 2000;
/** Cards are issued for at most a few years; 50 leaves room for long-lived tokens without accepting nonsense. */
export const expiryYearsAheadMax = 50;

export interface Expiry {
  readonly expMonth: number;
  readonly expYear: number;
}

export type ExpiryResult =
  { readonly ok: true; readonly expiry: Expiry } | ValidationFailure<ExpiryFailureCode, ExpiryField>;

/** 1–12 as an integer, or a string of one or two ASCII digits ("8", "08"). */
export function parseExpiryMonth(raw: unknown): number | null {
  let month: number;
  if (typeof raw === 'number') month = raw;
  else if (typeof raw === 'string' && /^[0-9]{1,2}$/.test(raw)) month = Number(raw);
  else return null;
  return Number.isInteger(month) && month >= 1 && month <= 12 ? month : null;
}

/** A four-digit year, or two digits meaning 20xx, within [expiryYearMin, now + expiryYearsAheadMax]. */
export function parseExpiryYear(raw: unknown, now: Date): number | null {
  let year: number;
  if (typeof raw === 'number') year = raw;
  else if (typeof raw === 'string' && /^(?:[0-9]{2}|[0-9]{4})$/.test(raw)) year = Number(raw);
  else return null;
  if (!Number.isInteger(year)) return null;
  if (year >= 0 && year <= 99) year += 2000;
  const yearMax = now.getUTCFullYear() + expiryYearsAheadMax;
  return year >= expiryYearMin && year <= yearMax ? year : null;
}

/** True once `now` has reached the first instant (UTC) of the month after the expiry month. */
export function isExpired(expiry: Expiry, now: Date): boolean {
  // Date.UTC rolls month 12 over into January of the next year.
  const firstInstantAfterExpiryMs = Date.UTC(expiry.expYear, expiry.expMonth, 1);
  return now.getTime() >= firstInstantAfterExpiryMs;
}

export function validateExpiry(rawMonth: unknown, rawYear: unknown, now: Date): ExpiryResult {
  assertValidDate(now);
  const expMonth = parseExpiryMonth(rawMonth);
  if (expMonth === null) {
    return validationFailure(
      'invalid_expiry_month',
      'expMonth',
      'The expiry month must be a number from 1 to 12.',
    );
  }
  const expYear = parseExpiryYear(rawYear, now);
  if (expYear === null) {
    return validationFailure('invalid_expiry_year', 'expYear', 'The expiry year is not a valid year.');
  }
  const expiry = { expMonth, expYear };
  // Reported on the month, as Stripe does: the year is usually right when a card has just expired.
  if (isExpired(expiry, now)) {
    return validationFailure('expired_card', 'expMonth', 'The card has expired.');
  }
  return { ok: true, expiry };
}
