// A card fingerprint lets a merchant see "same card as before" without the vault revealing or
// storing a plain hash of the PAN: a PAN has so little entropy (a known BIN, a Luhn digit) that an
// unkeyed SHA-256 is reversed by enumeration. The key is derived per merchant, so fingerprints
// cannot be joined across merchants either (PCI DSS 3.5.1 "keyed cryptographic hash").
import { createHmac, hkdfSync } from 'node:crypto';

import { cardNumberDigitsMax, cardNumberDigitsMin } from './card.ts';
import { isAsciiDigits } from './validation.ts';

/** 22 base64url characters = 132 bits: collisions are out of reach for any realistic card count. */
export const fingerprintCharacters = 22;
export const fingerprintKeyBytesMin = 32;
const perMerchantKeyBytes = 32;
/** HKDF info is capped at 1024 bytes by node:crypto; merchant ids are far shorter. */
export const merchantIdBytesMax = 255;
// A fixed salt separates this derivation from any other use of the same root key.
const hkdfSalt = Buffer.from('payflow/vault/card-fingerprint/v1', 'utf8');

function perMerchantKey(fingerprintKey: Buffer, merchantId: string): Buffer {
  return Buffer.from(hkdfSync('sha256', fingerprintKey, hkdfSalt, merchantId, perMerchantKeyBytes));
}

/**
 * HMAC-SHA256 of the card digits under a key derived with HKDF-SHA256 from `fingerprintKey`
 * (info = merchantId), as base64url truncated to 22 characters. Stable for one merchant,
 * unrelated across merchants. Arguments are programmer-supplied: bad ones throw.
 */
export function cardFingerprint(digits: string, merchantId: string, fingerprintKey: Buffer): string {
  if (!isAsciiDigits(digits, cardNumberDigitsMin, cardNumberDigitsMax)) {
    throw new TypeError(`digits must be ${cardNumberDigitsMin} to ${cardNumberDigitsMax} ASCII digits`);
  }
  const merchantIdBytes = typeof merchantId === 'string' ? Buffer.byteLength(merchantId, 'utf8') : 0;
  if (merchantIdBytes === 0 || merchantIdBytes > merchantIdBytesMax) {
    throw new TypeError(`merchantId must be a non-empty string of at most ${merchantIdBytesMax} bytes`);
  }
  if (!Buffer.isBuffer(fingerprintKey) || fingerprintKey.length < fingerprintKeyBytesMin) {
    throw new TypeError(`fingerprintKey must be a Buffer of at least ${fingerprintKeyBytesMin} bytes`);
  }
  const key = perMerchantKey(fingerprintKey, merchantId);
  try {
    const mac = createHmac('sha256', key).update(digits, 'ascii').digest('base64url');
    return mac.slice(0, fingerprintCharacters);
  } finally {
    key.fill(0);
  }
}

const requestHkdfSalt = Buffer.from('payflow/vault/idempotency-request/v1', 'utf8');

/**
 * The HMAC key of POST /tokens request fingerprints (idempotency keys): derived per merchant from the
 * same root key under another salt, so it is unrelated to the card-fingerprint key.
 */
export function requestFingerprintKey(fingerprintKey: Buffer, merchantId: string): Buffer {
  return Buffer.from(hkdfSync('sha256', fingerprintKey, requestHkdfSalt, merchantId, perMerchantKeyBytes));
}
