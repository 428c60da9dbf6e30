// The ISO 4217 currencies PayFlow accepts and an amount as an exact decimal string. Apart from
// money.ts because the web app formats amounts with it too (web/src/shared/money.ts): no Node
// imports here. Everything else imports it through money.ts.
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

export function isCurrencyCode(value: string): value is CurrencyCode {
  return Object.hasOwn(currencyExponents, value);
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
