// Money is an integer count of minor units (`bigint`) plus an ISO 4217 currency code; never a float.
// JSON carries one operation's amount as a plain integer, validated against `amountMaxMinor` at the
// edge and turned into `bigint` at once, so that sums inside PayFlow can never lose precision; a sum
// (balance, total, volume) leaves PayFlow as a decimal string of minor units (ADR 27).
import assert from 'node:assert/strict';
import { Type } from 'typebox';
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
 * still fits the 12-digit amount field of ISO 8583 (DE 4) acquirers use, and it is far below
 * Number.MAX_SAFE_INTEGER, so one amount is exact as a JSON number in any client. Sums of amounts are
 * not bounded (90,072 maximal payments pass 2^53) and leave PayFlow as strings: `totalToJson`.
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

/**
 * One amount of one operation (a payment's amount, authorized, captured or refunded amount, one
 * posting of a payment, one settlement line) as a JSON integer. Such an amount is bounded by
 * `amountMaxMinor` (11 digits), so a JSON number carries it exactly in every language (ADR 27).
 * Anything larger is a sum and goes out through `totalToJson`; passing one here is a programmer error.
 */
export function amountToJson(amount: bigint): number {
  assert.ok(
    amount <= amountMaxMinor && amount >= -amountMaxMinor,
    `amount ${amount} is not one operation's amount (at most ${amountMaxMinor} minor units): send sums with totalToJson`,
  );
  return Number(amount);
}

/** What a total looks like in JSON: an optional minus and decimal digits, no leading zero, no fraction. */
export const totalJsonPattern = '^(0|-?[1-9][0-9]*)$';

/**
 * A sum of amounts (a balance, a settlement or payout total, a volume, a reconciliation total:
 * anything with no upper bound) as JSON: a decimal string of minor units, always, whatever its size,
 * so a field's type never depends on its value and no JSON parser rounds it (ADR 27).
 */
export function totalToJson(total: bigint): string {
  return total.toString();
}

/** The OpenAPI/JSON schema of a total written by `totalToJson`; `description` says what it sums. */
export function totalSchema(description: string) {
  return Type.String({
    pattern: totalJsonPattern,
    description: `${description} Minor units of the currency as a decimal string (a sum: exact past 2^53, ADR 27).`,
    examples: ['1050'],
  });
}
