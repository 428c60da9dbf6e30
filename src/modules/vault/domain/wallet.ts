// Wallet payment validation (Apple Pay, Google Pay) after the merchant's wallet payload has been
// decrypted: a network token (DPAN) standing in for the card, a one-time cryptogram proving the
// device took part, and the token's expiry. Same rules as cards: never throws, stable codes,
// messages never echo the input.
import { detectBrand, luhnValid, type CardBrand } from './card.ts';
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

export const walletTypes = ['apple_pay', 'google_pay'] as const;
export type WalletType = (typeof walletTypes)[number];

export const networkTokenDigitsMin = 13;
export const networkTokenDigitsMax = 19;
// Online payment cryptograms (TAVV, DSRP) are 20 bytes; EMV-style ones reach about 40.
export const cryptogramBytesMin = 20;
export const cryptogramBytesMax = 40;
const cryptogramCharactersMax = Math.ceil(cryptogramBytesMax / 3) * 4;

export type WalletField = 'type' | 'networkToken' | 'cryptogram' | 'expMonth' | 'expYear';
export type WalletFailureCode =
  'invalid_wallet_type' | 'invalid_network_token' | 'invalid_cryptogram' | ExpiryFailureCode;
export type WalletValidationFailure = ValidationFailure<WalletFailureCode, WalletField>;

export interface WalletInput {
  readonly type: WalletType;
  readonly networkToken: string | Secret<string>;
  readonly cryptogram: string | Secret<string>;
  readonly expMonth: number | string;
  readonly expYear: number | string;
}

export interface ValidatedWalletPayment {
  readonly type: WalletType;
  readonly networkToken: Secret<string>;
  /** Informational: a DPAN usually sits in its scheme's range, but the scheme, not the vault, decides. */
  readonly brand: CardBrand;
  readonly last4: string;
  /** The canonical base64 text as received; single use, never stored. */
  readonly cryptogram: Secret<string>;
  readonly expMonth: number;
  readonly expYear: number;
}

export type WalletValidationResult =
  { readonly ok: true; readonly wallet: ValidatedWalletPayment } | WalletValidationFailure;

function isWalletType(value: unknown): value is WalletType {
  return typeof value === 'string' && (walletTypes as readonly string[]).includes(value);
}

/** Digits only (wallet payloads carry no separators), 13–19 of them, Luhn-valid. */
export function isValidNetworkToken(raw: unknown): raw is string {
  return isAsciiDigits(raw, networkTokenDigitsMin, networkTokenDigitsMax) && luhnValid(raw);
}

/** Canonical standard base64 (padded, no whitespace) decoding to 20–40 bytes. */
export function isValidCryptogram(raw: unknown): raw is string {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > cryptogramCharactersMax) return false;
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(raw)) return false;
  const bytes = Buffer.from(raw, 'base64');
  // The round trip rejects non-zero padding bits, so each cryptogram has exactly one spelling.
  const canonical = bytes.toString('base64') === raw;
  return canonical && bytes.length >= cryptogramBytesMin && bytes.length <= cryptogramBytesMax;
}

/** Validates untrusted wallet input in precedence order; never throws on any `input`. */
export function validateWallet(input: unknown, now: Date): WalletValidationResult {
  assertValidDate(now);
  const type = readField(input, 'type');
  if (!isWalletType(type)) {
    return validationFailure(
      'invalid_wallet_type',
      'type',
      'The wallet type must be apple_pay or google_pay.',
    );
  }
  const networkToken = unwrapSecret(readField(input, 'networkToken'));
  if (!isValidNetworkToken(networkToken)) {
    return validationFailure(
      'invalid_network_token',
      'networkToken',
      'The network token is not a valid token number.',
    );
  }
  const cryptogram = unwrapSecret(readField(input, 'cryptogram'));
  if (!isValidCryptogram(cryptogram)) {
    const message = `The cryptogram must be base64 of ${cryptogramBytesMin} to ${cryptogramBytesMax} bytes.`;
    return validationFailure('invalid_cryptogram', 'cryptogram', message);
  }
  const expiry = validateExpiry(readField(input, 'expMonth'), readField(input, 'expYear'), now);
  if (!expiry.ok) return expiry;
  const wallet: ValidatedWalletPayment = {
    type,
    networkToken: new Secret(networkToken),
    brand: detectBrand(networkToken),
    last4: networkToken.slice(-4),
    cryptogram: new Secret(cryptogram),
    expMonth: expiry.expiry.expMonth,
    expYear: expiry.expiry.expYear,
  };
  return { ok: true, wallet };
}
