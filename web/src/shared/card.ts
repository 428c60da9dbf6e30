// Card entry helpers for the checkout form: digits only, Luhn, and the brand from the number's
// prefix as the payer types (the vault checks all of it again; this only helps the payer).
export type CardBrand =
  'visa' | 'mastercard' | 'amex' | 'discover' | 'jcb' | 'unionpay' | 'diners' | 'unknown';

export const brandNames: Record<CardBrand, string> = {
  visa: 'Visa',
  mastercard: 'Mastercard',
  amex: 'American Express',
  discover: 'Discover',
  jcb: 'JCB',
  unionpay: 'UnionPay',
  diners: 'Diners Club',
  unknown: '',
};

export function digitsOf(text: string): string {
  return text.replace(/\D/g, '').slice(0, 19);
}

export function luhnValid(digits: string): boolean {
  if (digits.length < 12) return false;
  let sum = 0;
  for (let index = 0; index < digits.length; index += 1) {
    let digit = Number(digits[digits.length - 1 - index]);
    if (index % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

const prefixRules: readonly [CardBrand, number, number, number][] = [
  ['visa', 4, 4, 1],
  ['mastercard', 51, 55, 2],
  ['mastercard', 2221, 2720, 4],
  ['amex', 34, 34, 2],
  ['amex', 37, 37, 2],
  ['discover', 6011, 6011, 4],
  ['discover', 644, 649, 3],
  ['discover', 65, 65, 2],
  ['jcb', 3528, 3589, 4],
  ['unionpay', 62, 62, 2],
  ['diners', 36, 36, 2],
  ['diners', 38, 38, 2],
  ['diners', 300, 305, 3],
];

/** The brand as soon as the prefix says it (before the number is complete). */
export function detectBrand(digits: string): CardBrand {
  for (const [brand, from, to, length] of prefixRules) {
    if (digits.length < length) continue;
    const prefix = Number(digits.slice(0, length));
    if (prefix >= from && prefix <= to) return brand;
  }
  return 'unknown';
}

/** Groups of four (Amex: 4-6-5) for display. */
export function formatCardNumber(digits: string): string {
  if (detectBrand(digits) === 'amex')
    return [digits.slice(0, 4), digits.slice(4, 10), digits.slice(10, 15)].filter(Boolean).join(' ');
  return digits.replace(/(\d{4})(?=\d)/g, '$1 ');
}

export function cvcLength(brand: CardBrand): number {
  return brand === 'amex' ? 4 : 3;
}

/** "MM/YY" or "MM / YYYY" → month and four-digit year; undefined when not a date. */
export function parseExpiry(text: string): { month: number; year: number } | undefined {
  const match = /^\s*(\d{1,2})\s*\/\s*(\d{2}|\d{4})\s*$/.exec(text);
  if (!match) return undefined;
  const month = Number(match[1]);
  const year = match[2]!.length === 2 ? 2000 + Number(match[2]) : Number(match[2]);
  if (month < 1 || month > 12) return undefined;
  return { month, year };
}

export function expiryInPast(expiry: { month: number; year: number }, now: Date): boolean {
  return expiry.year * 12 + expiry.month < now.getFullYear() * 12 + now.getMonth() + 1;
}
