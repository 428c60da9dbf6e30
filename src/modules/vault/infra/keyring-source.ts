// Where the vault's key-encryption keys come from: VAULT_MASTER_KEY (a key or a keyring JSON),
// VAULT_KEY_FILE, or, with neither set, a keyring file generated into PAYFLOW_DATA_DIR on first
// start (mode 0600). A file-backed keyring is re-read when the file changes or when a record names
// a version the process does not hold yet, so `payflow vault rotate-key` needs no restart.
import { statSync } from 'node:fs';
import { StartupError } from '../../../platform/db/embedded.ts';
import {
  defaultKeyMaterialFile,
  readKeyMaterialFile,
  resolveKeyMaterial,
  writePrivateFile,
  type KeyMaterialKind,
  type KeyMaterialOrigin,
} from '../../../platform/key-material.ts';
import type { Logger } from '../../../platform/log.ts';
import { generateKeyringFile, parseMasterKey, type Keyring } from '../domain/envelope.ts';

export const generatedKeyringFileName = 'vault-keyring.json';
/** How often a file-backed keyring checks whether the file changed. */
export const keyringFileCheckIntervalMs = 2_000;

export type KeyringOrigin = KeyMaterialOrigin;

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

/** The keyring as key material: VAULT_MASTER_KEY, VAULT_KEY_FILE or the generated file. */
const keyringMaterial: KeyMaterialKind<Keyring> = {
  valueVariable: 'VAULT_MASTER_KEY',
  fileVariable: 'VAULT_KEY_FILE',
  fileLabel: 'vault keyring file',
  defaultFileName: generatedKeyringFileName,
  logField: 'keyringFile',
  generatedWarning:
    'vault: generated a new key-encryption keyring (mode 0600); back it up, or set VAULT_MASTER_KEY / VAULT_KEY_FILE for production',
  sharedWarning: 'vault: the keyring file is readable by other users; chmod 600 it',
  error: KeyringConfigurationError,
  parse: parseMasterKey,
  badValue: (reason) => `VAULT_MASTER_KEY: ${reason}`,
  generate: generateKeyringFile,
};

function readKeyringFileAt(file: string): Keyring {
  return readKeyMaterialFile(file, keyringMaterial);
}

/**
 * Writes a file readable by its owner only, atomically (write aside, then rename; exclusive: link,
 * failing with EEXIST if the file exists).
 */
export function writeKeyringFile(file: string, text: string, options: { exclusive: boolean }): void {
  writePrivateFile(file, text, options);
}

/** The default keyring file path when neither VAULT_MASTER_KEY nor VAULT_KEY_FILE is set. */
export function defaultKeyringFile(dataDir: string): string {
  return defaultKeyMaterialFile(dataDir, keyringMaterial);
}

/** Resolves the keyring from the settings; generates the default file on first use and says so. */
export function openKeyringSource(settings: KeyringSettings, log: Logger): KeyringSource {
  const { material, origin } = resolveKeyMaterial(
    { value: settings.masterKey, file: settings.keyFile, dataDir: settings.dataDir },
    keyringMaterial,
    log,
  );
  return new KeyringSource(origin, material, origin.kind === 'file' ? fileModifiedMs(origin.path) : 0);
}
