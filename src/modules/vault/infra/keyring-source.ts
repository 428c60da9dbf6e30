// Where the vault's key-encryption keys come from: VAULT_MASTER_KEY (a key or a keyring JSON),
// VAULT_KEY_FILE, or, with neither set, a keyring file generated into PAYFLOW_DATA_DIR on first
// start (mode 0600). A file-backed keyring is re-read when the file changes or when a record names
// a version the process does not hold yet, so `payflow vault rotate-key` needs no restart.
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { StartupError } from '../../../platform/db/embedded.ts';
import type { Logger } from '../../../platform/log.ts';
import { generateKeyringFile, parseMasterKey, type Keyring } from '../domain/envelope.ts';

export const generatedKeyringFileName = 'vault-keyring.json';
/** How often a file-backed keyring checks whether the file changed. */
export const keyringFileCheckIntervalMs = 2_000;

export type KeyringOrigin =
  | { readonly kind: 'environment' }
  | { readonly kind: 'file'; readonly path: string; readonly generated: boolean };

export interface KeyringSettings {
  readonly masterKey: string | undefined;
  readonly keyFile: string | undefined;
  readonly dataDir: string;
}

/** A StartupError: the CLI prints its one-line message and exits non-zero. */
export class KeyringConfigurationError extends StartupError {
  override name = 'KeyringConfigurationError';
}

/** Holds the current keyring; file-backed ones reload on change. */
export class KeyringSource {
  #keyring: Keyring;
  #modifiedMs: number;
  #checkedAtMs = 0;

  constructor(
    readonly origin: KeyringOrigin,
    keyring: Keyring,
    modifiedMs: number,
  ) {
    this.#keyring = keyring;
    this.#modifiedMs = modifiedMs;
  }

  /** The keyring to encrypt with; re-reads the file when it changed (checked every few seconds). */
  current(): Keyring {
    const nowMs = Date.now();
    if (this.origin.kind === 'file' && nowMs - this.#checkedAtMs >= keyringFileCheckIntervalMs) {
      this.#checkedAtMs = nowMs;
      const modifiedMs = fileModifiedMs(this.origin.path);
      if (modifiedMs !== this.#modifiedMs) this.reload();
    }
    return this.#keyring;
  }

  /** Re-reads a file-backed keyring now (a record named an unknown version). True if it changed. */
  reload(): boolean {
    if (this.origin.kind !== 'file') return false;
    const before = this.#keyring.versions.join(',') + `/${this.#keyring.activeVersion}`;
    this.#modifiedMs = fileModifiedMs(this.origin.path);
    this.#keyring = readKeyringFileAt(this.origin.path);
    this.#checkedAtMs = Date.now();
    return before !== this.#keyring.versions.join(',') + `/${this.#keyring.activeVersion}`;
  }
}

function fileModifiedMs(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

function readKeyringFileAt(file: string): Keyring {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new KeyringConfigurationError(
      `cannot read the vault keyring file ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  try {
    return parseMasterKey(text);
  } catch (error) {
    throw new KeyringConfigurationError(`vault keyring file ${file}: ${(error as Error).message}`);
  }
}

/** Writes a file readable by its owner only, atomically (write aside, then rename). */
export function writeKeyringFile(file: string, text: string, options: { exclusive: boolean }): void {
  if (options.exclusive) {
    const descriptor = openSync(file, 'wx', 0o600); // Fails if another process won the race.
    try {
      writeSync(descriptor, text);
    } finally {
      closeSync(descriptor);
    }
    return;
  }
  const temporary = `${file}.${process.pid}.tmp`;
  const descriptor = openSync(temporary, 'w', 0o600);
  try {
    writeSync(descriptor, text);
  } finally {
    closeSync(descriptor);
  }
  renameSync(temporary, file);
}

/** The default keyring file path when neither VAULT_MASTER_KEY nor VAULT_KEY_FILE is set. */
export function defaultKeyringFile(dataDir: string): string {
  return path.join(dataDir, generatedKeyringFileName);
}

/** Resolves the keyring from the settings; generates the default file on first use and says so. */
export function openKeyringSource(settings: KeyringSettings, log: Logger): KeyringSource {
  if (settings.masterKey !== undefined && settings.keyFile !== undefined) {
    throw new KeyringConfigurationError('set only one of VAULT_MASTER_KEY and VAULT_KEY_FILE');
  }
  if (settings.masterKey !== undefined) {
    try {
      return new KeyringSource({ kind: 'environment' }, parseMasterKey(settings.masterKey), 0);
    } catch (error) {
      throw new KeyringConfigurationError(`VAULT_MASTER_KEY: ${(error as Error).message}`);
    }
  }
  if (settings.keyFile !== undefined) {
    const file = path.resolve(settings.keyFile);
    const source = new KeyringSource(
      { kind: 'file', path: file, generated: false },
      readKeyringFileAt(file),
      fileModifiedMs(file),
    );
    warnIfShared(file, log);
    return source;
  }
  const file = defaultKeyringFile(settings.dataDir);
  let generated = false;
  if (!existsSync(file)) {
    try {
      mkdirSync(settings.dataDir, { recursive: true, mode: 0o700 });
      writeKeyringFile(file, generateKeyringFile(), { exclusive: true });
      generated = true;
      log.warn(
        { keyringFile: file },
        'vault: generated a new key-encryption keyring (mode 0600); back it up, or set VAULT_MASTER_KEY / VAULT_KEY_FILE for production',
      );
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new KeyringConfigurationError(
          `cannot create the vault keyring file ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
        );
      }
    }
  }
  if (!generated) warnIfShared(file, log);
  return new KeyringSource(
    { kind: 'file', path: file, generated },
    readKeyringFileAt(file),
    fileModifiedMs(file),
  );
}

function warnIfShared(file: string, log: Logger): void {
  try {
    if ((statSync(file).mode & 0o077) !== 0) {
      log.warn({ keyringFile: file }, 'vault: the keyring file is readable by other users; chmod 600 it');
    }
  } catch {
    // Reading it already succeeded or failed with a clear message.
  }
}
