// Card validation: the pure rules a PAN, expiry, CVC and holder name must meet before the vault
// stores anything. Never throws on any input; failures are values with a stable code, and no
// message ever contains the card number (PCI DSS 3.5.1 covers logs too).
import { validateExpiry, type ExpiryFailureCode } from './expiry.ts';
import { Secret } from './masked.ts';
import {
  assertValidDate,
  isAsciiDigits,
  readField,
  unwrapSecret,
  validationFailure,
  type ValidationFailure,
} from './validation.ts';

export type CardBrand =
  'visa' | 'mastercard' | 'amex' | 'discover' | 'jcb' | 'unionpay' | 'diners' | 'unknown';

export const cardNumberDigitsMin = 12;
export const cardNumberDigitsMax = 19;
// Digits plus one separator between each pair of digits: anything longer is rejected unread.
const cardNumberInputCharactersMax = cardNumberDigitsMax * 2 - 1;
export const holderNameCharactersMax = 100;

/**
 * The clear card number (digits only) or null. Accepts ASCII digits with optional single spaces or
 * dashes between groups ("4242 4242-4242 4242"); rejects unicode digits, letters, leading or
 * trailing or doubled separators, and lengths outside 12–19 digits.
 */
export function normalizeCardNumber(raw: unknown): string | null {
  const value = unwrapSecret(raw);
  if (typeof value !== 'string' || value.length > cardNumberInputCharactersMax) return null;
  // Linear: a separator is mandatory between groups, so the pattern cannot backtrack.
  if (!/^[0-9]+(?:[ -][0-9]+)*$/.test(value)) return null;
  const digits = value.replace(/[ -]/g, '');
  return isAsciiDigits(digits, cardNumberDigitsMin, cardNumberDigitsMax) ? digits : null;
}

/** The Luhn (mod 10) check digit test. False for anything that is not a non-empty string of ASCII digits. */
export function luhnValid(digits: string): boolean {
  if (typeof digits !== 'string' || !/^[0-9]+$/.test(digits)) return false;
  let sum = 0;
  let doubleThisDigit = false;
  for (let index = digits.length - 1; index >= 0; index -= 1) {
    let digit = digits.charCodeAt(index) - 48;
    if (doubleThisDigit) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    doubleThisDigit = !doubleThisDigit;
  }
  return sum % 10 === 0;
}

interface BrandRule {
  readonly brand: Exclude<CardBrand, 'unknown'>;
  // Inclusive range of the number formed by the first `prefixDigits` digits.
  readonly prefixFrom: number;
  readonly prefixTo: number;
  readonly prefixDigits: number;
  readonly lengths: readonly number[];
}

const lengthsFrom = (from: number, to: number): readonly number[] =>
  Array.from({ length: to - from + 1 }, (_, offset) => from + offset);

// The ranges do not overlap, so order does not matter. Discover's co-branded UnionPay range
// 622126–622925 is left to UnionPay (62), as the brief's table says.
const brandRules: readonly BrandRule[] = [
  { brand: 'visa', prefixFrom: 4, prefixTo: 4, prefixDigits: 1, lengths: [13, 16, 19] },
  { brand: 'mastercard', prefixFrom: 51, prefixTo: 55, prefixDigits: 2, lengths: [16] },
  { brand: 'mastercard', prefixFrom: 2221, prefixTo: 2720, prefixDigits: 4, lengths: [16] },
  { brand: 'amex', prefixFrom: 34, prefixTo: 34, prefixDigits: 2, lengths: [15] },
  { brand: 'amex', prefixFrom: 37, prefixTo: 37, prefixDigits: 2, lengths: [15] },
  { brand: 'discover', prefixFrom: 6011, prefixTo: 6011, prefixDigits: 4, lengths: lengthsFrom(16, 19) },
  { brand: 'discover', prefixFrom: 644, prefixTo: 649, prefixDigits: 3, lengths: lengthsFrom(16, 19) },
  { brand: 'discover', prefixFrom: 65, prefixTo: 65, prefixDigits: 2, lengths: lengthsFrom(16, 19) },
  { brand: 'jcb', prefixFrom: 3528, prefixTo: 3589, prefixDigits: 4, lengths: lengthsFrom(16, 19) },
  { brand: 'unionpay', prefixFrom: 62, prefixTo: 62, prefixDigits: 2, lengths: lengthsFrom(16, 19) },
  { brand: 'diners', prefixFrom: 36, prefixTo: 36, prefixDigits: 2, lengths: lengthsFrom(14, 19) },
  { brand: 'diners', prefixFrom: 38, prefixTo: 38, prefixDigits: 2, lengths: lengthsFrom(14, 19) },
  { brand: 'diners', prefixFrom: 300, prefixTo: 305, prefixDigits: 3, lengths: lengthsFrom(14, 19) },
];

/** The brand whose IIN range contains the number AND whose lengths include its length; otherwise 'unknown'. */
export function detectBrand(digits: string): CardBrand {
  if (!isAsciiDigits(digits, 1, cardNumberDigitsMax)) return 'unknown';
  for (const rule of brandRules) {
    const prefix = Number(digits.slice(0, rule.prefixDigits));
    const prefixMatches =
      digits.length >= rule.prefixDigits && prefix >= rule.prefixFrom && prefix <= rule.prefixTo;
    if (prefixMatches && rule.lengths.includes(digits.length)) return rule.brand;
  }
  return 'unknown';
}

/**
 * The issuer prefix that may be shown or stored next to the last four (PCI DSS 3.4.1). Issuer
 * identification numbers have been 8 digits since ISO/IEC 7812-1:2017, and the PCI SSC permits
 * the first 8 with the last 4 only for PANs of 16 digits or more; shorter PANs (Amex, 13- and
 * 14-digit cards) keep the first 6 so that enough middle digits stay hidden.
 */
export function bankIdentificationNumber(digits: string): string {
  return digits.slice(0, digits.length >= 16 ? 8 : 6);
}

/** The CVC length the brand prints: 4 on the front of an Amex card, 3 on the back of everything else. */
export function cvcLengthFor(brand: CardBrand): number {
  return brand === 'amex' ? 4 : 3;
}

export type CardField = 'number' | 'expMonth' | 'expYear' | 'cvc' | 'holderName';
export type CardFailureCode = 'invalid_number' | ExpiryFailureCode | 'invalid_cvc' | 'invalid_holder_name';
export type CardValidationFailure = ValidationFailure<CardFailureCode, CardField>;

/** The shape callers are expected to send; every field is read as untrusted. */
export interface CardInput {
  readonly number: string | Secret<string>;
  readonly expMonth: number | string;
  readonly expYear: number | string;
  readonly cvc: string | Secret<string>;
  readonly holderName?: string | null;
}

/** A card that passed every rule. The number and CVC stay wrapped so they print as `[redacted]`. */
export interface ValidatedCard {
  readonly digits: Secret<string>;
  readonly brand: Exclude<CardBrand, 'unknown'>;
  /** First 8 digits for PANs of 16+ digits, else first 6; see bankIdentificationNumber. */
  readonly bin: string;
  readonly last4: string;
  readonly expMonth: number;
  readonly expYear: number;
  /** Needed once for authorization and never stored, not even encrypted (PCI DSS 3.3.1). */
  readonly cvc: Secret<string>;
  readonly holderName: string | undefined;
}

export type CardValidationResult =
  { readonly ok: true; readonly card: ValidatedCard } | CardValidationFailure;

const invalidNumberMessage = 'The card number is not a valid card number.';

type NumberResult =
  | { readonly ok: true; readonly digits: string; readonly brand: Exclude<CardBrand, 'unknown'> }
  | CardValidationFailure;

function validateCardNumber(raw: unknown): NumberResult {
  const digits = normalizeCardNumber(raw);
  if (digits === null || !luhnValid(digits))
    return validationFailure('invalid_number', 'number', invalidNumberMessage);
  const brand = detectBrand(digits);
  if (brand === 'unknown') return validationFailure('invalid_number', 'number', invalidNumberMessage);
  return { ok: true, digits, brand };
}

function validateCvc(
  raw: unknown,
  brand: CardBrand,
): { readonly ok: true; readonly cvc: string } | CardValidationFailure {
  const cvc = unwrapSecret(raw);
  const length = cvcLengthFor(brand);
  // A string only: a number would have lost its leading zeros ("012" → 12).
  if (!isAsciiDigits(cvc, length, length)) {
    const message = `The security code must be ${length} digits for this card.`;
    return validationFailure('invalid_cvc', 'cvc', message);
  }
  return { ok: true, cvc };
}

// Control characters, lone surrogates, line/paragraph separators and bidirectional overrides (which
// can make a name render as something else in the dashboard).
const forbiddenHolderNameCharacters = /[\p{Cc}\p{Cs}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069]/u;

type HolderNameResult =
  { readonly ok: true; readonly holderName: string | undefined } | CardValidationFailure;

/** Optional: absent, null or blank means no name. Counted in code points after NFC normalisation. */
export function validateHolderName(raw: unknown): HolderNameResult {
  if (raw === undefined || raw === null) return { ok: true, holderName: undefined };
  const failure = validationFailure(
    'invalid_holder_name',
    'holderName',
    `The cardholder name must be text of at most ${holderNameCharactersMax} characters without control characters.`,
  );
  // A code point is at most 2 UTF-16 units; 4x leaves room for decomposed accents before NFC.
  if (typeof raw !== 'string' || raw.length > holderNameCharactersMax * 4) return failure;
  if (forbiddenHolderNameCharacters.test(raw)) return failure;
  const holderName = raw.normalize('NFC').trim();
  if ([...holderName].length > holderNameCharactersMax) return failure;
  return { ok: true, holderName: holderName === '' ? undefined : holderName };
}

/**
 * Validates untrusted card input. Checks run in precedence order (number, expiry, CVC, holder name)
 * and the first failure is returned. Never throws on any `input`; `now` comes from the caller's clock.
 */
export function validateCard(input: unknown, now: Date): CardValidationResult {
  assertValidDate(now);
  const number = validateCardNumber(readField(input, 'number'));
  if (!number.ok) return number;
  const expiry = validateExpiry(readField(input, 'expMonth'), readField(input, 'expYear'), now);
  if (!expiry.ok) return expiry;
  const cvc = validateCvc(readField(input, 'cvc'), number.brand);
  if (!cvc.ok) return cvc;
  const holderName = validateHolderName(readField(input, 'holderName'));
  if (!holderName.ok) return holderName;
  const card: ValidatedCard = {
    digits: new Secret(number.digits),
    brand: number.brand,
    bin: bankIdentificationNumber(number.digits),
    last4: number.digits.slice(-4),
    expMonth: expiry.expiry.expMonth,
    expYear: expiry.expiry.expYear,
    cvc: new Secret(cvc.cvc),
    holderName: holderName.holderName,
  };
  return { ok: true, card };
}
