// Envelope encryption for stored card data (PCI DSS 3.5.1, 3.6, 3.7). Each secret gets its own
// random 256-bit data key; the data key is wrapped by a versioned key-encryption key (KEK) kept
// apart from the database. Rotating a KEK only re-wraps the 32-byte data keys, never the ciphertext.
//
// Both buffers in a record share one layout (format version 1):
//
//   offset  0   1 byte    format version (1)
//   offset  1  12 bytes   AES-256-GCM IV (random per encryption)
//   offset 13  16 bytes   AES-256-GCM authentication tag
//   offset 29   n bytes   AES-256-GCM ciphertext (n = 32 for a wrapped key, the plaintext length otherwise)
//
// Additional authenticated data (not stored, rebuilt on decryption):
//   ciphertext:  format byte ‖ "payflow/vault/data" ‖ 0x00 ‖ UTF-8 of the caller's aad (the token id),
//                so a ciphertext copied onto another token fails to decrypt;
//   wrapped key: format byte ‖ "payflow/vault/key" ‖ 0x00 ‖ key version as uint32 big-endian,
//                so a record relabelled with another key version fails to decrypt.
// The ciphertext's AAD deliberately omits the key version: rewrap changes the version without
// touching the ciphertext. Random 96-bit IVs are safe here: a data key encrypts once, and a KEK
// must be rotated long before NIST SP 800-38D's limit of 2^32 random-IV encryptions per key.
import { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual } from 'node:crypto';

export const keyBytes = 32;
export const envelopeFormatVersion = 1;
const ivBytes = 12;
const authTagBytes = 16;
const headerBytes = 1 + ivBytes + authTagBytes;
const wrappedKeyBytes = headerBytes + keyBytes;
const cipherAlgorithm = 'aes-256-gcm';
/** Card data is tiny; a larger plaintext means a caller is misusing the vault. */
export const secretPlaintextBytesMax = 64 * 1024;
/** Token ids are short; the bound keeps AAD a label, not a payload. */
export const aadBytesMax = 1024;
/** Key versions fit a PostgreSQL integer column and the 4-byte field in the wrapping AAD. */
export const keyVersionMax = 2_147_483_647;
/** A keyring holds the active key plus the retired ones still needed to read old records. */
export const keyringVersionsMax = 100;

/** Expected failures of the vault's cryptography. None of them is helped by retrying. */
export type VaultCryptoErrorCode = 'decrypt_failed' | 'unknown_key_version' | 'invalid_key';

export class VaultCryptoError extends Error {
  readonly retryable = false;

  constructor(
    readonly code: VaultCryptoErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'VaultCryptoError';
  }
}

/** What the vault stores per secret. Both buffers use the layout described at the top of this file. */
export interface EncryptedSecret {
  readonly keyVersion: number;
  readonly wrappedKey: Buffer;
  readonly ciphertext: Buffer;
}

export interface KeyEncryptionKey {
  readonly version: number;
  readonly key: Buffer;
}

const decryptFailed = () => new VaultCryptoError('decrypt_failed', 'The secret could not be decrypted.');

function isKeyVersion(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= keyVersionMax;
}

function seal(key: Buffer, plaintext: Buffer, additionalData: Buffer): Buffer {
  const iv = randomBytes(ivBytes);
  const cipher = createCipheriv(cipherAlgorithm, key, iv, { authTagLength: authTagBytes });
  cipher.setAAD(additionalData);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([envelopeFormatVersion]), iv, cipher.getAuthTag(), body]);
}

/** Reverses seal. Any malformed or forged input becomes decrypt_failed; unauthenticated output is zeroed. */
function open(key: Buffer, sealed: unknown, additionalData: Buffer): Buffer {
  if (!Buffer.isBuffer(sealed) || sealed.length < headerBytes || sealed[0] !== envelopeFormatVersion) {
    throw decryptFailed();
  }
  const iv = sealed.subarray(1, 1 + ivBytes);
  const authTag = sealed.subarray(1 + ivBytes, headerBytes);
  let updatePart: Buffer | undefined;
  let finalPart: Buffer | undefined;
  try {
    const decipher = createDecipheriv(cipherAlgorithm, key, iv, { authTagLength: authTagBytes });
    decipher.setAAD(additionalData);
    decipher.setAuthTag(authTag);
    updatePart = decipher.update(sealed.subarray(headerBytes));
    finalPart = decipher.final();
    // Buffer.alloc, not concat: concat may place small results in the shared pool.
    const plaintext = Buffer.alloc(updatePart.length + finalPart.length);
    updatePart.copy(plaintext, 0);
    finalPart.copy(plaintext, updatePart.length);
    return plaintext;
  } catch {
    throw decryptFailed();
  } finally {
    updatePart?.fill(0);
    finalPart?.fill(0);
  }
}

function labelledAad(label: string, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([envelopeFormatVersion]), Buffer.from(`${label}\0`, 'utf8'), value]);
}

function dataAad(aad: string): Buffer {
  if (typeof aad !== 'string' || aad.length === 0 || Buffer.byteLength(aad, 'utf8') > aadBytesMax) {
    throw new TypeError(`aad must be a non-empty string of at most ${aadBytesMax} bytes`);
  }
  return labelledAad('payflow/vault/data', Buffer.from(aad, 'utf8'));
}

function wrappingAad(keyVersion: number): Buffer {
  const version = Buffer.alloc(4);
  version.writeUInt32BE(keyVersion);
  return labelledAad('payflow/vault/key', version);
}

function assertKeyMaterial(key: unknown): asserts key is Buffer {
  if (!Buffer.isBuffer(key) || key.length !== keyBytes) {
    throw new VaultCryptoError('invalid_key', `A key-encryption key must be exactly ${keyBytes} bytes.`);
  }
  // An all-zero key is a placeholder that slipped into configuration, never a real key.
  if (key.every((byte) => byte === 0)) {
    throw new VaultCryptoError('invalid_key', 'A key-encryption key must not be all zero bytes.');
  }
}

/**
 * The versioned key-encryption keys. New data keys are wrapped with the active version; retired
 * versions stay only to unwrap records not yet rewrapped. The KEKs never leave this object (it
 * copies them and prints only its versions).
 */
export class Keyring {
  readonly activeVersion: number;
  readonly #keys: ReadonlyMap<number, Buffer>;

  constructor(options: { readonly activeVersion: number; readonly keys: readonly KeyEncryptionKey[] }) {
    const keys = new Map<number, Buffer>();
    if (options.keys.length === 0 || options.keys.length > keyringVersionsMax) {
      throw new VaultCryptoError('invalid_key', `A keyring holds 1 to ${keyringVersionsMax} keys.`);
    }
    for (const { version, key } of options.keys) {
      if (!isKeyVersion(version)) {
        throw new VaultCryptoError('invalid_key', `Key versions are integers from 1 to ${keyVersionMax}.`);
      }
      if (keys.has(version)) {
        throw new VaultCryptoError('invalid_key', `Key version ${version} appears twice.`);
      }
      assertKeyMaterial(key);
      // Reusing one key under two versions would make a rotation that rotates nothing.
      if ([...keys.values()].some((other) => timingSafeEqual(other, key))) {
        throw new VaultCryptoError(
          'invalid_key',
          `Key version ${version} repeats the key of another version.`,
        );
      }
      keys.set(version, Buffer.from(key));
    }
    if (!keys.has(options.activeVersion)) {
      throw new VaultCryptoError('invalid_key', 'The active key version is not in the keyring.');
    }
    this.activeVersion = options.activeVersion;
    this.#keys = keys;
  }

  /** Every version held, ascending. */
  get versions(): readonly number[] {
    return [...this.#keys.keys()].sort((left, right) => left - right);
  }

  has(version: number): boolean {
    return this.#keys.has(version);
  }

  /** Wraps a data key under the active KEK. */
  wrapDataKey(dataKey: Buffer): { readonly keyVersion: number; readonly wrappedKey: Buffer } {
    const keyEncryptionKey = this.#keys.get(this.activeVersion);
    if (keyEncryptionKey === undefined)
      throw new Error('unreachable: the constructor checked the active version');
    return {
      keyVersion: this.activeVersion,
      wrappedKey: seal(keyEncryptionKey, dataKey, wrappingAad(this.activeVersion)),
    };
  }

  /** The clear data key; the caller zeroes it after use. */
  unwrapDataKey(keyVersion: number, wrappedKey: Buffer): Buffer {
    const keyEncryptionKey = isKeyVersion(keyVersion) ? this.#keys.get(keyVersion) : undefined;
    if (keyEncryptionKey === undefined) {
      throw new VaultCryptoError(
        'unknown_key_version',
        'The record was encrypted under a key version this keyring does not hold.',
      );
    }
    if (!Buffer.isBuffer(wrappedKey) || wrappedKey.length !== wrappedKeyBytes) throw decryptFailed();
    const dataKey = open(keyEncryptionKey, wrappedKey, wrappingAad(keyVersion));
    if (dataKey.length !== keyBytes) {
      dataKey.fill(0);
      throw decryptFailed();
    }
    return dataKey;
  }

  toJSON(): { readonly activeVersion: number; readonly versions: readonly number[] } {
    return { activeVersion: this.activeVersion, versions: this.versions };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Keyring { activeVersion: ${this.activeVersion}, versions: [${this.versions.join(', ')}] }`;
  }
}

function assertPlaintext(plaintext: Buffer): void {
  if (!Buffer.isBuffer(plaintext) || plaintext.length > secretPlaintextBytesMax) {
    throw new TypeError(`plaintext must be a Buffer of at most ${secretPlaintextBytesMax} bytes`);
  }
}

/** Encrypts under a fresh data key bound to `aad` (the token id); the data key is zeroed before returning. */
export function encryptSecret(plaintext: Buffer, aad: string, keyring: Keyring): EncryptedSecret {
  assertPlaintext(plaintext);
  const additionalData = dataAad(aad);
  const dataKey = randomBytes(keyBytes);
  try {
    const ciphertext = seal(dataKey, plaintext, additionalData);
    const { keyVersion, wrappedKey } = keyring.wrapDataKey(dataKey);
    return { keyVersion, wrappedKey, ciphertext };
  } finally {
    dataKey.fill(0);
  }
}

/**
 * The plaintext, in a fresh buffer the caller should zero after use. Throws VaultCryptoError:
 * unknown_key_version when the keyring lacks the record's version; decrypt_failed when the aad
 * differs, the record was altered, or it is malformed.
 */
export function decryptSecret(record: EncryptedSecret, aad: string, keyring: Keyring): Buffer {
  const additionalData = dataAad(aad);
  const dataKey = keyring.unwrapDataKey(record.keyVersion, record.wrappedKey);
  try {
    return open(dataKey, record.ciphertext, additionalData);
  } finally {
    dataKey.fill(0);
  }
}

/** True when the record is wrapped under a version other than the active one. */
export function needsRewrap(record: EncryptedSecret, keyring: Keyring): boolean {
  return record.keyVersion !== keyring.activeVersion;
}

/**
 * Moves the record's data key under the active KEK; the ciphertext is returned untouched (same
 * buffer). The wrapped key is always unwrapped first, so a rotation job also detects damaged
 * records. A record already under the active version comes back unchanged.
 */
export function rewrap(record: EncryptedSecret, keyring: Keyring): EncryptedSecret {
  const dataKey = keyring.unwrapDataKey(record.keyVersion, record.wrappedKey);
  try {
    if (!needsRewrap(record, keyring)) return record;
    const { keyVersion, wrappedKey } = keyring.wrapDataKey(dataKey);
    return { keyVersion, wrappedKey, ciphertext: record.ciphertext };
  } finally {
    dataKey.fill(0);
  }
}

// Key text: 64 hex digits, or base64 (standard or URL-safe, padding optional) of 32 bytes.
const hexKeyPattern = /^[0-9a-fA-F]{64}$/;
const base64KeyPattern = /^[A-Za-z0-9+/]{43}=?$/;
const base64UrlKeyPattern = /^[A-Za-z0-9_-]{43}=?$/;
/** A keyring file is a few keys of 44 characters; anything far larger is not one. */
const keyTextCharactersMax = 64 * 1024;

/** Messages never quote the text: it is key material. */
function invalidKeyText(): VaultCryptoError {
  return new VaultCryptoError(
    'invalid_key',
    `A key must be ${keyBytes} bytes written as 64 hex digits or base64.`,
  );
}

function decodeKeyText(text: string): Buffer | null {
  if (hexKeyPattern.test(text)) return Buffer.from(text, 'hex');
  if (!base64KeyPattern.test(text) && !base64UrlKeyPattern.test(text)) return null;
  const unpadded = text.replace(/=$/, '');
  const key = Buffer.from(
    unpadded,
    unpadded.includes('-') || unpadded.includes('_') ? 'base64url' : 'base64',
  );
  // 43 characters carry 258 bits; the round trip rejects non-zero spare bits, i.e. a mistyped key.
  const canonical = key.toString('base64url') === unpadded.replace(/\+/g, '-').replace(/\//g, '_');
  return canonical ? key : null;
}

function parseKeyText(text: unknown): Buffer {
  const key = typeof text === 'string' ? decodeKeyText(text) : null;
  if (key === null || key.length !== keyBytes) throw invalidKeyText();
  assertKeyMaterial(key);
  return key;
}

interface KeyringFile {
  readonly active: number;
  readonly keys: Readonly<Record<string, string>>;
}

function readKeyringFile(text: string): {
  readonly activeVersion: number;
  readonly keys: KeyEncryptionKey[];
} {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new VaultCryptoError('invalid_key', 'The keyring file is not valid JSON.');
  }
  const shapeError = new VaultCryptoError(
    'invalid_key',
    'A keyring file is {"active": <version>, "keys": {"<version>": "<base64 key>", …}}.',
  );
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw shapeError;
  const { active, keys } = parsed as Partial<Record<keyof KeyringFile, unknown>>;
  if (!isKeyVersion(active) || typeof keys !== 'object' || keys === null || Array.isArray(keys))
    throw shapeError;
  const entries = Object.entries(keys);
  if (entries.length === 0 || entries.length > keyringVersionsMax) throw shapeError;
  const keyEncryptionKeys = entries.map(([versionText, keyText]): KeyEncryptionKey => {
    const version = /^[1-9][0-9]{0,9}$/.test(versionText) ? Number(versionText) : Number.NaN;
    if (!isKeyVersion(version)) throw shapeError;
    return { version, key: parseKeyText(keyText) };
  });
  return { activeVersion: active, keys: keyEncryptionKeys };
}

/**
 * Reads the KEK configuration: either one bare key (hex or base64, 32 bytes), which becomes
 * version 1, or a keyring file `{"active": 2, "keys": {"1": "…", "2": "…"}}`. Surrounding
 * whitespace (a trailing newline in a mounted secret file) is ignored. Throws VaultCryptoError
 * `invalid_key`, never quoting the text.
 */
export function parseMasterKey(text: string): Keyring {
  if (typeof text !== 'string' || text.length > keyTextCharactersMax) throw invalidKeyText();
  const trimmed = text.trim();
  const options = trimmed.startsWith('{')
    ? readKeyringFile(trimmed)
    : { activeVersion: 1, keys: [{ version: 1, key: parseKeyText(trimmed) }] };
  try {
    return new Keyring(options);
  } finally {
    for (const { key } of options.keys) key.fill(0); // The keyring holds its own copies.
  }
}

function serialiseKeyringFile(activeVersion: number, keys: readonly KeyEncryptionKey[]): string {
  const sorted = [...keys].sort((left, right) => left.version - right.version);
  const file: KeyringFile = {
    active: activeVersion,
    keys: Object.fromEntries(sorted.map(({ version, key }) => [String(version), key.toString('base64')])),
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** A new keyring file holding one random key, version 1, active. */
export function generateKeyringFile(): string {
  const key = randomBytes(keyBytes);
  try {
    return serialiseKeyringFile(1, [{ version: 1, key }]);
  } finally {
    key.fill(0);
  }
}

/**
 * The next step of a rotation: the same file plus a new random key under the next version, which
 * becomes active. Old versions stay until every record has been rewrapped.
 */
export function rotateKeyringFile(text: string): string {
  if (typeof text !== 'string' || text.length > keyTextCharactersMax) throw invalidKeyText();
  const current = readKeyringFile(text.trim());
  const nextVersion = Math.max(...current.keys.map(({ version }) => version)) + 1;
  const keys = [...current.keys, { version: nextVersion, key: randomBytes(keyBytes) }];
  try {
    const rotated = serialiseKeyringFile(nextVersion, keys);
    parseMasterKey(rotated); // Throws if the result is not a valid keyring, before anyone installs it.
    return rotated;
  } finally {
    for (const { key } of keys) key.fill(0);
  }
}
