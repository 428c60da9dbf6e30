// Money is an integer count of minor units (`bigint`) plus an ISO 4217 currency code; never a float.
// JSON carries amounts as plain integers, validated against `amountMaxMinor` at the edge, and turned
// into `bigint` at once so that sums inside PayFlow can never lose precision.
import assert from 'node:assert/strict';

/**
 * ISO 4217 minor-unit exponents PayFlow accepts. ISO's own values, not a processor's: an acquirer
 * adapter that deviates (Adyen treats CLP as 2, CVE as 0) converts at its edge.
 */
export const currencyExponents = {
  USD: 2,
  EUR: 2,
  GBP: 2,
  CHF: 2,
  CAD: 2,
  AUD: 2,
  NZD: 2,
  SEK: 2,
  NOK: 2,
  DKK: 2,
  PLN: 2,
  CZK: 2,
  HUF: 2,
  RON: 2,
  BGN: 2,
  TRY: 2,
  ILS: 2,
  ZAR: 2,
  BRL: 2,
  MXN: 2,
  ARS: 2,
  COP: 2,
  PEN: 2,
  INR: 2,
  IDR: 2,
  MYR: 2,
  PHP: 2,
  SGD: 2,
  HKD: 2,
  CNY: 2,
  TWD: 2,
  THB: 2,
  AED: 2,
  SAR: 2,
  QAR: 2,
  EGP: 2,
  NGN: 2,
  KES: 2,
  JPY: 0,
  KRW: 0,
  VND: 0,
  CLP: 0,
  ISK: 0,
  UGX: 0,
  XAF: 0,
  XOF: 0,
  BHD: 3,
  IQD: 3,
  JOD: 3,
  KWD: 3,
  LYD: 3,
  OMR: 3,
  TND: 3,
} as const satisfies Record<string, 0 | 2 | 3>;

export type CurrencyCode = keyof typeof currencyExponents;

export type Money = { readonly amount: bigint; readonly currency: CurrencyCode };

export const currencyCodes = Object.keys(currencyExponents) as readonly CurrencyCode[];

/**
 * The largest amount of one payment, capture or refund, in minor units: 11 digits.
 * Why 11: it is far above any real card payment (999,999,999.99 USD; 99,999,999,999 JPY) while it
 * still fits the 12-digit amount field of ISO 8583 (DE 4) acquirers use, and it leaves ~90,000
 * maximal payments of headroom below Number.MAX_SAFE_INTEGER, so aggregated balances stay exact
 * when JSON carries them as plain numbers.
 */
export const amountMaxMinor = 99_999_999_999n;

export type AmountResult =
  | { readonly ok: true; readonly amount: bigint }
  | { readonly ok: false; readonly code: 'invalid_amount'; readonly message: string };

export type CurrencyResult =
  | { readonly ok: true; readonly currency: CurrencyCode }
  | { readonly ok: false; readonly code: 'invalid_currency'; readonly message: string };

function invalidAmount(message: string): AmountResult {
  return { ok: false, code: 'invalid_amount', message };
}

/** Accepts a JSON number that is a positive safe integer of minor units, at most `amountMaxMinor`. */
export function parseAmount(value: unknown): AmountResult {
  if (typeof value !== 'number') {
    return invalidAmount(
      'amount must be a JSON number of minor units (an integer such as 1000), not a string',
    );
  }
  if (!Number.isFinite(value)) return invalidAmount('amount must be a finite number');
  if (!Number.isInteger(value)) {
    return invalidAmount('amount must be an integer count of minor units (cents), without a fraction');
  }
  if (value <= 0) return invalidAmount('amount must be greater than zero');
  if (!Number.isSafeInteger(value) || BigInt(value) > amountMaxMinor) {
    return invalidAmount(`amount must be at most ${amountMaxMinor} minor units`);
  }
  return { ok: true, amount: BigInt(value) };
}

export function isCurrencyCode(value: string): value is CurrencyCode {
  return Object.hasOwn(currencyExponents, value);
}

/** Accepts an uppercase ISO 4217 code from the table; a lowercase one is refused with a hint. */
export function parseCurrency(value: unknown): CurrencyResult {
  if (typeof value !== 'string') {
    return { ok: false, code: 'invalid_currency', message: 'currency must be a string such as "USD"' };
  }
  if (isCurrencyCode(value)) return { ok: true, currency: value };
  const uppercase = value.toUpperCase();
  if (uppercase !== value && isCurrencyCode(uppercase)) {
    return {
      ok: false,
      code: 'invalid_currency',
      message: `currency codes are uppercase: use "${uppercase}" instead of "${value}"`,
    };
  }
  return {
    ok: false,
    code: 'invalid_currency',
    message: `currency "${value}" is not a supported ISO 4217 code`,
  };
}

export function currencyExponent(currency: CurrencyCode): 0 | 2 | 3 {
  return currencyExponents[currency];
}

/** Major units as an exact decimal string ("12.34", "-0.05", "1000" for JPY); for display only. */
export function formatMajor(amount: bigint, currency: CurrencyCode): string {
  const exponent = currencyExponent(currency);
  const sign = amount < 0n ? '-' : '';
  const digits = (amount < 0n ? -amount : amount).toString();
  if (exponent === 0) return `${sign}${digits}`;
  const padded = digits.padStart(exponent + 1, '0');
  return `${sign}${padded.slice(0, -exponent)}.${padded.slice(-exponent)}`;
}

const safeIntegerMax = BigInt(Number.MAX_SAFE_INTEGER);

/** A `bigint` amount or balance as a JSON number; beyond the exact range is a programmer error. */
export function amountToJson(amount: bigint): number {
  assert.ok(
    amount <= safeIntegerMax && amount >= -safeIntegerMax,
    `amount ${amount} is outside the exact range of a JSON number`,
  );
  return Number(amount);
}
