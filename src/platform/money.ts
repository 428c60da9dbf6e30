// Money is an integer count of minor units (`bigint`) plus an ISO 4217 currency code; never a float.
// JSON carries amounts as plain integers, validated against `amountMaxMinor` at the edge, and turned
// into `bigint` at once so that sums inside PayFlow can never lose precision.
import assert from 'node:assert/strict';
import { currencyExponents, isCurrencyCode, type CurrencyCode } from './currencies.ts';

export {
  currencyExponent,
  currencyExponents,
  formatMajor,
  isCurrencyCode,
  type CurrencyCode,
} from './currencies.ts';

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

const safeIntegerMax = BigInt(Number.MAX_SAFE_INTEGER);

/** A `bigint` amount or balance as a JSON number; beyond the exact range is a programmer error. */
export function amountToJson(amount: bigint): number {
  assert.ok(
    amount <= safeIntegerMax && amount >= -safeIntegerMax,
    `amount ${amount} is outside the exact range of a JSON number`,
  );
  return Number(amount);
}
