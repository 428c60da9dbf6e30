// Where a process's key material comes from, for every key kept outside the database: a variable
// holding the material itself, a variable naming a file holding it, or, with neither set, a file
// generated into PAYFLOW_DATA_DIR on first start (mode 0600, created exclusively so that two
// processes starting together end up with the same file) with a warning to back it up. A file
// readable by other users is warned about. Used by the platform secrets key (secrets.ts) and the
// vault's keyring (the vault keeps its own format and versioning; this only finds the text).
import {
  closeSync,
  existsSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import type { StartupError } from './db/embedded.ts';
import type { Logger } from './log.ts';

export interface KeyMaterialSettings {
  /** The material itself (the value of `valueVariable`), if set. */
  readonly value: string | undefined;
  /** A file holding it (the value of `fileVariable`), if set. */
  readonly file: string | undefined;
  readonly dataDir: string;
}

/** What one kind of key material is called and how its text is read and made. */
export interface KeyMaterialKind<T> {
  /** The variable holding the material, e.g. PAYFLOW_SECRETS_KEY. */
  readonly valueVariable: string;
  /** The variable naming a file holding it, e.g. PAYFLOW_SECRETS_KEY_FILE. */
  readonly fileVariable: string;
  /** The file's name in errors, e.g. `secrets key file` (`cannot read the secrets key file …`). */
  readonly fileLabel: string;
  /** The generated file's name in the data directory. */
  readonly defaultFileName: string;
  /** The log field naming the file in warnings. */
  readonly logField: string;
  /** The warning after generating the default file (it never contains the material). */
  readonly generatedWarning: string;
  /** The warning for a file readable by other users. */
  readonly sharedWarning: string;
  /** The start-up error class; its one-line message is what the CLI prints. */
  readonly error: new (message: string) => StartupError;
  /** Parses the text of the variable or of a file; throws an Error saying what is wrong, never quoting the text. */
  parse(text: string): T;
  /** The error message for a bad `valueVariable`, given what parse said. */
  badValue(reason: string): string;
  /** The text of a new default file. */
  generate(): string;
}

export type KeyMaterialOrigin =
  | { readonly kind: 'environment' }
  | { readonly kind: 'file'; readonly path: string; readonly generated: boolean };

export interface KeyMaterial<T> {
  readonly material: T;
  readonly origin: KeyMaterialOrigin;
}

/** The default file when neither variable is set. */
export function defaultKeyMaterialFile(
  dataDir: string,
  kind: Pick<KeyMaterialKind<unknown>, 'defaultFileName'>,
): string {
  return path.join(dataDir, kind.defaultFileName);
}

/** Reads and parses a key material file; an unreadable or unparsable file is one start-up error line. */
export function readKeyMaterialFile<T>(file: string, kind: KeyMaterialKind<T>): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new kind.error(`cannot read the ${kind.fileLabel} ${file}: ${errorCode(error)}`);
  }
  try {
    return kind.parse(text);
  } catch (error) {
    throw new kind.error(`${kind.fileLabel} ${file}: ${(error as Error).message}`);
  }
}

/**
 * Writes a file readable by its owner only, complete aside first. `exclusive`: then links it into
 * place, failing with EEXIST if the file exists (another process won the race), so nobody ever
 * reads a half-written file; otherwise renames it over the old one.
 */
export function writePrivateFile(file: string, text: string, options: { exclusive: boolean }): void {
  const temporary = `${file}.${process.pid}.tmp`;
  const descriptor = openSync(temporary, 'w', 0o600);
  try {
    writeSync(descriptor, text);
  } finally {
    closeSync(descriptor);
  }
  if (!options.exclusive) {
    renameSync(temporary, file);
    return;
  }
  try {
    linkSync(temporary, file);
  } finally {
    unlinkSync(temporary);
  }
}

/** Resolves the material from the settings; generates the default file on first use and says so. */
export function resolveKeyMaterial<T>(
  settings: KeyMaterialSettings,
  kind: KeyMaterialKind<T>,
  log: Logger,
): KeyMaterial<T> {
  if (settings.value !== undefined && settings.file !== undefined) {
    throw new kind.error(`set only one of ${kind.valueVariable} and ${kind.fileVariable}`);
  }
  if (settings.value !== undefined) {
    let material: T;
    try {
      material = kind.parse(settings.value);
    } catch (error) {
      throw new kind.error(kind.badValue((error as Error).message));
    }
    return { material, origin: { kind: 'environment' } };
  }
  if (settings.file !== undefined) {
    const file = path.resolve(settings.file);
    const material = readKeyMaterialFile(file, kind);
    warnIfShared(file, kind, log);
    return { material, origin: { kind: 'file', path: file, generated: false } };
  }
  const file = defaultKeyMaterialFile(settings.dataDir, kind);
  let generated = false;
  if (!existsSync(file)) {
    try {
      mkdirSync(settings.dataDir, { recursive: true, mode: 0o700 });
      writePrivateFile(file, kind.generate(), { exclusive: true });
      generated = true;
      log.warn({ [kind.logField]: file }, kind.generatedWarning);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new kind.error(`cannot create the ${kind.fileLabel} ${file}: ${errorCode(error)}`);
      }
    }
  }
  if (!generated) warnIfShared(file, kind, log);
  return { material: readKeyMaterialFile(file, kind), origin: { kind: 'file', path: file, generated } };
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'error';
}

function warnIfShared(file: string, kind: KeyMaterialKind<unknown>, log: Logger): void {
  try {
    if ((statSync(file).mode & 0o077) !== 0) log.warn({ [kind.logField]: file }, kind.sharedWarning);
  } catch {
    // Reading it already succeeded or failed with a clear message.
  }
}
