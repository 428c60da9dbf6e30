// Amounts arrive as minor units with an ISO 4217 code: one operation's amount as a JSON integer, a
// sum (balance, volume, settlement total) as a decimal string (ADR 27). The exponents and the exact decimal
// string come from the server's own table (src/platform/currencies.ts, re-exported by money.ts: one
// table, one formatter); this file adds what only a page needs: Intl formatting for people and
// parsing what they type.
import {
  currencyExponent as platformExponent,
  formatMajor,
  isCurrencyCode,
} from '../../../src/platform/currencies.ts';

/** The currency's ISO exponent; a code PayFlow does not know gets 2 (it cannot carry money here). */
export function currencyExponent(currency: string): number {
  return isCurrencyCode(currency) ? platformExponent(currency) : 2;
}

/** Minor units as the API sends them: a JSON integer (one amount) or a decimal string (a sum). */
export type Minor = number | string | bigint;

/** Exact minor units: a string or bigint as is (no float on the way), a number truncated. */
export function minorToBigInt(minor: Minor): bigint {
  if (typeof minor === 'bigint') return minor;
  if (typeof minor === 'string') return BigInt(minor);
  return BigInt(Math.trunc(minor));
}

/** 123456 USD → "1234.56" (a decimal string, exact, also for sums past 2^53 sent as strings). */
export function minorToDecimalString(minor: Minor, currency: string): string {
  const whole = minorToBigInt(minor);
  if (isCurrencyCode(currency)) return formatMajor(whole, currency);
  // Unknown codes keep 2 decimals, as currencyExponent says: USD has the same exponent.
  return formatMajor(whole, 'USD');
}

export function formatAmount(minor: Minor, currency: string, locale?: string): string {
  const exponent = currencyExponent(currency);
  const format = new Intl.NumberFormat(locale, {
    style: 'currency',
    currency,
    minimumFractionDigits: exponent,
    maximumFractionDigits: exponent,
  });
  // Intl formats a decimal string exactly (no float on the way).
  return format.format(minorToDecimalString(minor, currency) as unknown as number);
}

/** "10", "10.5", "10.50" in major units → minor units; undefined when not an amount of the currency. */
export function decimalToMinor(text: string, currency: string): number | undefined {
  const exponent = currencyExponent(currency);
  const match = /^\s*(\d{1,12})(?:[.,](\d*))?\s*$/.exec(text);
  if (!match) return undefined;
  const fraction = match[2] ?? '';
  if (fraction.length > exponent) return undefined;
  const minor = Number(`${match[1]}${fraction.padEnd(exponent, '0')}`);
  return Number.isSafeInteger(minor) ? minor : undefined;
}
