// Platform secrets at rest: the long-lived secrets modules keep in PostgreSQL (identity's token
// signing keys, notifications' webhook signing secrets) are sealed with AES-256-GCM under one key
// from PAYFLOW_SECRETS_KEY, PAYFLOW_SECRETS_KEY_FILE or, with neither set, a key file generated into
// PAYFLOW_DATA_DIR on first start (mode 0600), as the vault does for its own keyring (which stays the
// vault's alone). A sealed value is `pfs1.<key id>.<nonce>.<ciphertext>.<tag>` (base64url): `pfs1`
// is the format version and the key id names the key, so a later keyring can hold several. The
// additional data binds each value to its row (table, id, column): a sealed value copied into
// another row or column does not open. See ADR 16.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { StartupError } from './db/embedded.ts';
import { defaultKeyMaterialFile, resolveKeyMaterial, type KeyMaterialKind } from './key-material.ts';
import type { Logger } from './log.ts';

export const generatedSecretsKeyFileName = 'secrets-key';
const formatVersion = 'pfs1';
const keyBytes = 32;
const nonceBytes = 12;
const tagBytes = 16;

/** A StartupError: the CLI prints its one-line message and exits non-zero. */
export class SecretsKeyError extends StartupError {
  override name = 'SecretsKeyError';
}

export type UnsealFailure = 'malformed' | 'unknown_key' | 'authentication_failed';

/** A sealed value that does not open with this process's key (or is not a sealed value at all). */
export class UnsealError extends Error {
  override name = 'UnsealError';
  constructor(
    readonly code: UnsealFailure,
    readonly sealedKeyId: string | undefined,
  ) {
    super(`sealed secret does not open (${code})`);
  }
}

/** Which row and column a sealed value belongs to; it opens only there. */
export interface SealBinding {
  readonly table: string;
  readonly id: string;
  readonly column: string;
}

export interface SecretSealer {
  /** The id of the key new values are sealed with (also in every sealed value). */
  readonly keyId: string;
  seal(plaintext: string, binding: SealBinding): string;
  /** Throws UnsealError when the value is malformed, names another key, or fails authentication. */
  unseal(sealed: string, binding: SealBinding): string;
}

export interface SecretsKeySettings {
  readonly secretsKey: string | undefined;
  readonly secretsKeyFile: string | undefined;
  readonly dataDir: string;
}

const hexKeyPattern = /^[0-9a-fA-F]{64}$/;
const base64KeyPattern = /^[A-Za-z0-9+/]{43}=?$/;
const base64UrlKeyPattern = /^[A-Za-z0-9_-]{43}=?$/;
const keyRule = `must be ${keyBytes} random bytes written as 64 hex digits or base64`;

/** 32 bytes as 64 hex digits or base64 (standard or URL-safe); null otherwise. Never quotes the text. */
export function parseSecretsKey(text: string): Buffer | null {
  const trimmed = text.trim();
  let key: Buffer;
  if (hexKeyPattern.test(trimmed)) key = Buffer.from(trimmed, 'hex');
  else if (base64KeyPattern.test(trimmed) || base64UrlKeyPattern.test(trimmed))
    key = Buffer.from(trimmed.replace(/=$/, '').replace(/\+/g, '-').replace(/\//g, '_'), 'base64url');
  else return null;
  if (key.length !== keyBytes || key.every((byte) => byte === 0)) return null;
  return key;
}

/** The key's id: 16 hex digits of an HMAC of a fixed label, so it says nothing about the key. */
function keyIdOf(key: Buffer): string {
  return 'k' + createHmac('sha256', key).update('payflow secrets key id').digest('hex').slice(0, 16);
}

function additionalData(keyId: string, binding: SealBinding): Buffer {
  return Buffer.from(
    JSON.stringify([formatVersion, keyId, binding.table, binding.id, binding.column]),
    'utf8',
  );
}

/** A sealer holding one key; the key bytes stay inside this closure. */
export function createSecretSealer(key: Buffer): SecretSealer {
  if (key.length !== keyBytes) throw new Error(`a secrets key is ${keyBytes} bytes`);
  const ownKey = Buffer.from(key);
  const keyId = keyIdOf(ownKey);
  return {
    keyId,
    seal(plaintext, binding) {
      const nonce = randomBytes(nonceBytes);
      const cipher = createCipheriv('aes-256-gcm', ownKey, nonce, { authTagLength: tagBytes });
      cipher.setAAD(additionalData(keyId, binding));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [formatVersion, keyId, nonce, ciphertext, cipher.getAuthTag()]
        .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
        .join('.');
    },
    unseal(sealed, binding) {
      const parts = sealed.split('.');
      if (parts.length !== 5 || parts[0] !== formatVersion) throw new UnsealError('malformed', undefined);
      const [, sealedKeyId, nonceText, ciphertextText, tagText] = parts as [
        string,
        string,
        string,
        string,
        string,
      ];
      if (sealedKeyId !== keyId) throw new UnsealError('unknown_key', sealedKeyId);
      const nonce = Buffer.from(nonceText, 'base64url');
      const tag = Buffer.from(tagText, 'base64url');
      if (nonce.length !== nonceBytes || tag.length !== tagBytes)
        throw new UnsealError('malformed', sealedKeyId);
      try {
        const decipher = createDecipheriv('aes-256-gcm', ownKey, nonce, { authTagLength: tagBytes });
        decipher.setAAD(additionalData(keyId, binding));
        decipher.setAuthTag(tag);
        const plaintext = Buffer.concat([
          decipher.update(Buffer.from(ciphertextText, 'base64url')),
          decipher.final(),
        ]);
        return plaintext.toString('utf8');
      } catch {
        throw new UnsealError('authentication_failed', sealedKeyId);
      }
    },
  };
}

/**
 * The start-up error for a stored value that does not open: one line naming the variables, never
 * the key or the value.
 */
export function wrongSecretsKeyError(what: string, error: unknown): Error {
  if (!(error instanceof UnsealError)) return error as Error;
  return new SecretsKeyError(
    `${what} does not unseal with this secrets key (${error.code}): is PAYFLOW_SECRETS_KEY / PAYFLOW_SECRETS_KEY_FILE the key this database was sealed with?`,
  );
}

/** The secrets key as key material: PAYFLOW_SECRETS_KEY, PAYFLOW_SECRETS_KEY_FILE or the generated file. */
const secretsKeyMaterial: KeyMaterialKind<Buffer> = {
  valueVariable: 'PAYFLOW_SECRETS_KEY',
  fileVariable: 'PAYFLOW_SECRETS_KEY_FILE',
  fileLabel: 'secrets key file',
  defaultFileName: generatedSecretsKeyFileName,
  logField: 'secretsKeyFile',
  generatedWarning:
    'secrets: generated a new secrets key (mode 0600); back it up, or set PAYFLOW_SECRETS_KEY / PAYFLOW_SECRETS_KEY_FILE for production',
  sharedWarning: 'secrets: the key file is readable by other users; chmod 600 it',
  error: SecretsKeyError,
  parse(text) {
    const key = parseSecretsKey(text);
    if (!key) throw new Error(keyRule);
    return key;
  },
  badValue: (reason) => `PAYFLOW_SECRETS_KEY ${reason}`,
  generate: () => `${randomBytes(keyBytes).toString('base64')}\n`,
};

/** The default key file path when neither PAYFLOW_SECRETS_KEY nor PAYFLOW_SECRETS_KEY_FILE is set. */
export function defaultSecretsKeyFile(dataDir: string): string {
  return defaultKeyMaterialFile(dataDir, secretsKeyMaterial);
}

/** Resolves the secrets key from the settings; generates the default file on first use and says so. */
export function openSecretSealer(settings: SecretsKeySettings, log: Logger): SecretSealer {
  const { material } = resolveKeyMaterial(
    { value: settings.secretsKey, file: settings.secretsKeyFile, dataDir: settings.dataDir },
    secretsKeyMaterial,
    log,
  );
  return createSecretSealer(material);
}
