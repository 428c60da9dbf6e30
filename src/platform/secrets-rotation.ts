// `payflow secrets rotate-key`: put a new key first in the secrets keyring file (or, for a key from
// PAYFLOW_SECRETS_KEY, write the next keyring for the operator to install), then re-seal every value
// the modules declare (ModuleManifest.sealedColumns) under it in small batches while PayFlow serves.
// Phases: write the keyring → wait for running processes to read it → re-seal batch by batch
// (each one short transaction, FOR UPDATE SKIP LOCKED) → count what is left, declared or not.
// No outside calls. See ADR 16.
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { Sql } from './db/client.ts';
import { writePrivateFile } from './key-material.ts';
import { withAdvisoryLock } from './db/advisory-lock.ts';
import type { CommandContext, CliCommand } from './module.ts';
import {
  keyIdOf,
  openSecretsKeyring,
  rotatedSecretsKeyringText,
  secretsKeyFileCheckIntervalMs,
  SecretsKeyError,
  UnsealError,
  type SealedColumn,
  type SecretSealer,
} from './secrets.ts';

export const resealBatchDefault = 100;
export const resealBatchMax = 10_000;
/** Rows locked by live transactions are tried again this many times before the run reports them. */
const lockedRetriesMax = 50;
const lockedRetryDelayMs = 100;
const advisoryLockKey = 7_310_200_300;

export const rotateSecretsKeyUsage =
  'payflow secrets rotate-key [--reseal-only] [--batch-size N] [--new-key-file PATH]';

export interface ResealProgress {
  readonly column: string;
  readonly resealed: number;
  readonly remaining: number;
}

export interface ResealResult {
  readonly keyId: string;
  readonly resealed: number;
  /** Declared values still under another key (locked throughout, or the run was limited). */
  readonly remaining: number;
  /** Sealed values under another key in `*_sealed` columns no module declared (never re-sealed). */
  readonly undeclared: readonly { readonly column: string; readonly count: number }[];
}

const nameOf = (column: SealedColumn) => `${column.table}.${column.column}`;

/** Re-seals one batch of one column under the sealer's key; returns how many values moved. */
export async function resealBatch(
  sql: Sql,
  sealer: SecretSealer,
  column: SealedColumn,
  batchSize: number,
): Promise<number> {
  const keyId = sealer.keyId;
  return sql.begin(async (transaction) => {
    const rows = await transaction<{ id: string; sealed: string }[]>`
      select ${transaction(column.idColumn)}::text as id, ${transaction(column.column)} as sealed
      from ${transaction(column.table)}
      where ${transaction(column.column)} is not null
        and split_part(${transaction(column.column)}, '.', 2) <> ${keyId}
      order by 1 limit ${batchSize} for update skip locked`;
    for (const row of rows) {
      const binding = column.binding(row.id);
      let plaintext: string;
      try {
        plaintext = sealer.unseal(row.sealed, binding);
      } catch (error) {
        if (!(error instanceof UnsealError)) throw error;
        throw new SecretsKeyError(
          `${nameOf(column)} of ${row.id} does not open with any key of the keyring (${error.code}): keep every older key in it until the re-seal is done`,
        );
      }
      await transaction`
        update ${transaction(column.table)}
        set ${transaction(column.column)} = ${sealer.seal(plaintext, binding)}
        where ${transaction(column.idColumn)} = ${row.id}`;
    }
    return rows.length;
  });
}

async function countStale(sql: Sql, table: string, column: string, keyId: string): Promise<number> {
  const [row] = await sql<{ count: number }[]>`
    select count(*)::int as count from ${sql(table)}
    where ${sql(column)} like 'pfs1.%' and split_part(${sql(column)}, '.', 2) <> ${keyId}`;
  return row?.count ?? 0;
}

/** Every declared column re-sealed under the sealer's key, then what is left counted. */
export async function resealAll(
  sql: Sql,
  sealer: SecretSealer,
  columns: readonly SealedColumn[],
  options: { batchSize?: number; batchesMax?: number; onProgress?(progress: ResealProgress): void } = {},
): Promise<ResealResult> {
  const batchSize = Math.min(
    Math.max(1, Math.trunc(options.batchSize ?? resealBatchDefault)),
    resealBatchMax,
  );
  const keyId = sealer.keyId;
  let batches = 0;
  let resealed = 0;
  const limited = () => options.batchesMax !== undefined && batches >= options.batchesMax;
  for (const column of columns) {
    let lockedRetries = 0;
    while (!limited()) {
      const moved = await resealBatch(sql, sealer, column, batchSize);
      batches += 1;
      resealed += moved;
      const remaining = await countStale(sql, column.table, column.column, keyId);
      if (moved > 0) {
        options.onProgress?.({ column: nameOf(column), resealed: moved, remaining });
        continue;
      }
      // Nothing unlocked was left: stop unless rows held by live transactions still wait.
      if (remaining === 0 || lockedRetries >= lockedRetriesMax) break;
      lockedRetries += 1;
      await sleep(lockedRetryDelayMs);
    }
  }
  let remaining = 0;
  for (const column of columns) remaining += await countStale(sql, column.table, column.column, keyId);
  return { keyId, resealed, remaining, undeclared: await undeclaredStale(sql, columns, keyId) };
}

/**
 * Sealed values under another key in any `*_sealed` text column that no module declared: they
 * cannot be re-sealed (their binding is the module's), so the older key must stay.
 */
async function undeclaredStale(
  sql: Sql,
  declared: readonly SealedColumn[],
  keyId: string,
): Promise<{ column: string; count: number }[]> {
  const known = new Set(declared.map(nameOf));
  const candidates = await sql<{ schema: string; table: string; column: string }[]>`
    select c.table_schema as schema, c.table_name as table, c.column_name as column
    from information_schema.columns c
    join information_schema.tables t using (table_schema, table_name)
    where t.table_type = 'BASE TABLE' and c.data_type = 'text' and c.column_name like '%\\_sealed'
      and c.table_schema not in ('pg_catalog', 'information_schema')
    order by 1, 2, 3`;
  const found: { column: string; count: number }[] = [];
  for (const candidate of candidates) {
    const table = `${candidate.schema}.${candidate.table}`;
    if (known.has(`${table}.${candidate.column}`)) continue;
    const count = await countStale(sql, table, candidate.column, keyId);
    if (count > 0) found.push({ column: `${table}.${candidate.column}`, count });
  }
  return found;
}

function installSteps(): string {
  return [
    'The secrets key comes from PAYFLOW_SECRETS_KEY, which this command cannot change. To rotate:',
    '  1. payflow secrets rotate-key --new-key-file <path>   writes a keyring (mode 0600) holding a new key',
    '     first and your current key(s) after it;',
    '  2. point PAYFLOW_SECRETS_KEY_FILE at that file (or put its lines, comma-separated, in',
    '     PAYFLOW_SECRETS_KEY) for every PayFlow process and restart them;',
    '  3. payflow secrets rotate-key --reseal-only   re-seals every stored secret under the new key.',
  ].join('\n');
}

export function createSecretsRotateKeyCommand(columns: () => readonly SealedColumn[]): CliCommand {
  return {
    path: ['secrets', 'rotate-key'],
    summary:
      'Puts a new secrets key first in the keyring file and re-seals signing keys and webhook secrets under it while PayFlow serves.',
    usage: rotateSecretsKeyUsage,
    needsDatabase: true,
    run: (args, context) => runRotateSecretsKey(args, context, columns()),
  };
}

async function runRotateSecretsKey(
  args: readonly string[],
  context: CommandContext,
  columns: readonly SealedColumn[],
): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      'reseal-only': { type: 'boolean', default: false },
      'batch-size': { type: 'string', default: String(resealBatchDefault) },
      'new-key-file': { type: 'string' },
    },
    strict: true,
  });
  const batchSize = Number(values['batch-size']);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > resealBatchMax) {
    context.print(`--batch-size must be an integer from 1 to ${resealBatchMax}`);
    return 2;
  }
  const { origin, keys } = openSecretsKeyring(context.config, context.log);
  if (!values['reseal-only']) {
    if (origin.kind === 'environment') {
      const target = values['new-key-file'];
      if (target === undefined) {
        context.print(installSteps());
        return 1;
      }
      if (existsSync(target))
        throw new SecretsKeyError(
          `${target} already exists; give --new-key-file a path that does not (a keyring is never overwritten)`,
        );
      writePrivateFile(target, rotatedSecretsKeyringText(keys), { exclusive: true });
      context.print(`wrote ${target} with a new key first; install it, restart, then run --reseal-only`);
      return 0;
    }
    const text = rotatedSecretsKeyringText(keys);
    writePrivateFile(origin.path, text, { exclusive: false });
    const waitMs = 2 * secretsKeyFileCheckIntervalMs;
    context.print(
      `added key ${keyIdOf(Buffer.from(text.split('\n')[0]!, 'base64'))} to ${origin.path} (it seals from now on; the older keys stay to open what is not re-sealed yet)`,
    );
    // Running processes notice the file within secretsKeyFileCheckIntervalMs of their next seal;
    // re-sealing after that leaves few values a process could still seal under the older key.
    context.print(`waiting ${waitMs / 1000} s for running processes to read it`);
    await sleep(waitMs);
  }
  return reseal(context, columns, batchSize);
}

async function reseal(context: CommandContext, columns: readonly SealedColumn[], batchSize: number) {
  // Re-read: with --reseal-only the file may have been installed since this process started.
  const { sealer } = openSecretsKeyring(context.config, context.log);
  const outcome = await withAdvisoryLock(context.sql, advisoryLockKey, async () => {
    context.print(`re-sealing under key ${sealer.keyId} (batches of ${batchSize})`);
    const result = await resealAll(context.sql, sealer, columns, {
      batchSize,
      onProgress: (progress) =>
        context.print(
          `  ${progress.column}: ${progress.resealed} re-sealed, ${progress.remaining} remaining`,
        ),
    });
    for (const { column, count } of result.undeclared)
      context.print(
        `  ${column}: ${count} value(s) under an older key that no module declares for re-sealing`,
      );
    const done = result.remaining === 0 && result.undeclared.length === 0;
    context.print(
      done
        ? `done: ${result.resealed} value(s) re-sealed; every sealed secret is under key ${result.keyId}, so the older keys can leave the keyring`
        : `not done: ${result.remaining} declared and ${result.undeclared.reduce((sum, entry) => sum + entry.count, 0)} undeclared value(s) still under older keys; keep them in the keyring (run with --reseal-only again)`,
    );
    return done ? 0 : 1;
  });
  if (!outcome.ran) {
    context.print('another rotate-key run is re-sealing; it will finish the work');
    return 1;
  }
  return outcome.value;
}
