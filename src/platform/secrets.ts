// Platform secrets at rest: the long-lived secrets modules keep in PostgreSQL (identity's token
// signing keys, notifications' webhook signing secrets) are sealed with AES-256-GCM under one key
// from PAYFLOW_SECRETS_KEY, PAYFLOW_SECRETS_KEY_FILE or, with neither set, a key file generated into
// PAYFLOW_DATA_DIR on first start (mode 0600), as the vault does for its own keyring (which stays the
// vault's alone). A sealed value is `pfs1.<key id>.<nonce>.<ciphertext>.<tag>` (base64url): `pfs1`
// is the format version and the key id names the key. The key text may hold several keys (a
// keyring, one per line): the first seals, every one opens, so `payflow secrets rotate-key` can put a
// new key first and re-seal while PayFlow serves; a file-backed keyring is re-read when the file
// changes or a value names a key the process does not hold. The additional data binds each value to
// its row (table, id, column): a sealed value copied into another row or column does not open.
// See ADR 16.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { StartupError } from './db/embedded.ts';
import {
  defaultKeyMaterialFile,
  readKeyMaterialFile,
  resolveKeyMaterial,
  type KeyMaterialKind,
  type KeyMaterialOrigin,
} from './key-material.ts';
import type { Logger } from './log.ts';

export const generatedSecretsKeyFileName = 'secrets-key';
/** How often a file-backed keyring checks, when it seals, whether the file changed. */
export const secretsKeyFileCheckIntervalMs = 2_000;
/** A keyring holds at most this many keys (the active one and those retired but still opening). */
export const secretsKeysMax = 8;
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

/** A column of a module's table holding sealed values, so that rotation can re-seal them. */
export interface SealedColumn {
  /** Schema-qualified table, e.g. `identity.signing_keys`. */
  readonly table: string;
  /** The column identifying the row (its value is the binding's id). */
  readonly idColumn: string;
  /** The column holding the sealed text. */
  readonly column: string;
  /** The binding the module seals this column's values with. */
  binding(id: string): SealBinding;
}

export interface SecretSealer {
  /** The id of the key new values are sealed with (also in every sealed value). */
  readonly keyId: string;
  /** The ids of every key this sealer opens, the sealing one first. */
  readonly keyIds: readonly string[];
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

/**
 * A keyring's text: one or more keys (each as `parseSecretsKey` reads it) separated by new lines,
 * spaces or commas; the first seals. Throws an Error saying what is wrong, never quoting the text.
 */
export function parseSecretsKeys(text: string): Buffer[] {
  const words = text.split(/[\s,]+/).filter((word) => word !== '');
  if (words.length === 0) throw new Error(keyRule);
  if (words.length > secretsKeysMax) throw new Error(`holds ${words.length} keys; at most ${secretsKeysMax}`);
  const keys = words.map((word, index) => {
    const key = parseSecretsKey(word);
    if (!key) throw new Error(words.length === 1 ? keyRule : `key ${index + 1} ${keyRule}`);
    return key;
  });
  const ids = new Set(keys.map(keyIdOf));
  if (ids.size !== keys.length) throw new Error('holds the same key twice');
  return keys;
}

/** The id of the key a sealed value names; undefined when it is not a sealed value. */
export function sealedKeyId(sealed: string): string | undefined {
  const parts = sealed.split('.');
  return parts.length === 5 && parts[0] === formatVersion ? parts[1] : undefined;
}

/** The key's id: 16 hex digits of an HMAC of a fixed label, so it says nothing about the key. */
export function keyIdOf(key: Buffer): string {
  return 'k' + createHmac('sha256', key).update('payflow secrets key id').digest('hex').slice(0, 16);
}

function additionalData(keyId: string, binding: SealBinding): Buffer {
  return Buffer.from(
    JSON.stringify([formatVersion, keyId, binding.table, binding.id, binding.column]),
    'utf8',
  );
}

/**
 * Where a sealer's keys come from after it was made: `changed` is asked before each seal (a file
 * checks its modification time every few seconds), `reload` when a value names a key the sealer does
 * not hold. Each returns the new keys, or undefined when nothing changed.
 */
export interface SecretsKeyRefresh {
  changed(): readonly Buffer[] | undefined;
  reload(): readonly Buffer[] | undefined;
}

/** A sealer holding a keyring (the first key seals); the key bytes stay inside it. */
export function createSecretSealer(
  keys: Buffer | readonly Buffer[],
  refresh?: SecretsKeyRefresh,
): SecretSealer {
  let keyring = keyringOf(Array.isArray(keys) ? keys : [keys as Buffer]);
  const adopt = (next: readonly Buffer[] | undefined) => {
    if (next !== undefined) keyring = keyringOf(next);
  };
  return {
    get keyId() {
      return keyring.activeId;
    },
    get keyIds() {
      return [...keyring.keys.keys()];
    },
    seal(plaintext, binding) {
      if (refresh) adopt(refresh.changed());
      const { activeId, keys: byId } = keyring;
      return sealWith(byId.get(activeId)!, activeId, plaintext, binding);
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
      // A key the process does not hold yet: `secrets rotate-key` may have just added it.
      if (!keyring.keys.has(sealedKeyId) && refresh) adopt(refresh.reload());
      const key = keyring.keys.get(sealedKeyId);
      if (key === undefined) throw new UnsealError('unknown_key', sealedKeyId);
      const nonce = Buffer.from(nonceText, 'base64url');
      const tag = Buffer.from(tagText, 'base64url');
      if (nonce.length !== nonceBytes || tag.length !== tagBytes)
        throw new UnsealError('malformed', sealedKeyId);
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: tagBytes });
        decipher.setAAD(additionalData(sealedKeyId, binding));
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

interface Keyring {
  readonly activeId: string;
  readonly keys: ReadonlyMap<string, Buffer>;
}

function keyringOf(keys: readonly Buffer[]): Keyring {
  if (keys.length === 0) throw new Error('a secrets keyring holds at least one key');
  const byId = new Map<string, Buffer>();
  for (const key of keys) {
    if (key.length !== keyBytes) throw new Error(`a secrets key is ${keyBytes} bytes`);
    byId.set(keyIdOf(key), Buffer.from(key));
  }
  return { activeId: keyIdOf(keys[0]!), keys: byId };
}

function sealWith(key: Buffer, keyId: string, plaintext: string, binding: SealBinding): string {
  const nonce = randomBytes(nonceBytes);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: tagBytes });
  cipher.setAAD(additionalData(keyId, binding));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [formatVersion, keyId, nonce, ciphertext, cipher.getAuthTag()]
    .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
    .join('.');
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

/** The secrets keyring as key material: PAYFLOW_SECRETS_KEY, PAYFLOW_SECRETS_KEY_FILE or the generated file. */
const secretsKeyMaterial: KeyMaterialKind<Buffer[]> = {
  valueVariable: 'PAYFLOW_SECRETS_KEY',
  fileVariable: 'PAYFLOW_SECRETS_KEY_FILE',
  fileLabel: 'secrets key file',
  defaultFileName: generatedSecretsKeyFileName,
  logField: 'secretsKeyFile',
  generatedWarning:
    'secrets: generated a new secrets key (mode 0600); back it up, or set PAYFLOW_SECRETS_KEY / PAYFLOW_SECRETS_KEY_FILE for production',
  sharedWarning: 'secrets: the key file is readable by other users; chmod 600 it',
  error: SecretsKeyError,
  parse: parseSecretsKeys,
  badValue: (reason) => `PAYFLOW_SECRETS_KEY ${reason}`,
  generate: () => `${randomBytes(keyBytes).toString('base64')}\n`,
};

/** The default key file path when neither PAYFLOW_SECRETS_KEY nor PAYFLOW_SECRETS_KEY_FILE is set. */
export function defaultSecretsKeyFile(dataDir: string): string {
  return defaultKeyMaterialFile(dataDir, secretsKeyMaterial);
}

/** Resolves the secrets keyring from the settings; generates the default file on first use and says so. */
export function openSecretSealer(settings: SecretsKeySettings, log: Logger): SecretSealer {
  return openSecretsKeyring(settings, log).sealer;
}

/** The sealer and where its keys come from (`secrets rotate-key` writes a file-backed keyring). */
export function openSecretsKeyring(
  settings: SecretsKeySettings,
  log: Logger,
): { sealer: SecretSealer; origin: KeyMaterialOrigin; keys: readonly Buffer[] } {
  const { material, origin } = resolveKeyMaterial(
    { value: settings.secretsKey, file: settings.secretsKeyFile, dataDir: settings.dataDir },
    secretsKeyMaterial,
    log,
  );
  const refresh = origin.kind === 'file' ? fileRefresh(origin.path) : undefined;
  return { sealer: createSecretSealer(material, refresh), origin, keys: material };
}

/** Re-reads a keyring file when its modification time changed (checked at most every few seconds). */
function fileRefresh(file: string): SecretsKeyRefresh {
  let modifiedMs = fileModifiedMs(file);
  let checkedAtMs = Date.now();
  // A file that cannot be read or parsed now (moved, edited by hand) leaves the keys held: the
  // process keeps serving with them, and a value under a key it lacks fails as unknown_key.
  const read = () => {
    modifiedMs = fileModifiedMs(file);
    checkedAtMs = Date.now();
    try {
      return readKeyMaterialFile(file, secretsKeyMaterial);
    } catch {
      return undefined;
    }
  };
  return {
    changed() {
      if (Date.now() - checkedAtMs < secretsKeyFileCheckIntervalMs) return undefined;
      checkedAtMs = Date.now();
      return fileModifiedMs(file) === modifiedMs ? undefined : read();
    },
    reload: read,
  };
}

function fileModifiedMs(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

/** A keyring file's text: the new key first, then the keys it keeps (they still open old values). */
export function rotatedSecretsKeyringText(keys: readonly Buffer[]): string {
  return [randomBytes(keyBytes), ...keys].map((key) => key.toString('base64')).join('\n') + '\n';
}
