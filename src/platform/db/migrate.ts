// Forward-only plain-SQL migrations, one PostgreSQL schema per module. Umzug orders and tracks them;
// each migration runs in its own transaction together with the row that records it, under an
// advisory lock so that several processes starting at once apply each migration exactly once.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { Umzug } from 'umzug';
import type { Sql } from './client.ts';

export interface MigrationSource {
  readonly module: string;
  readonly directory: string;
}

export interface Migration {
  readonly name: string;
  readonly module: string;
  readonly file: string;
  readonly sqlText: string;
  readonly checksum: string;
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

const migrationFilePattern = /^\d{4}_[a-z0-9_]+\.sql$/;
const advisoryLockKey = 7_310_200_001;

/** Reads every module's migrations; sorted by file name (a four-digit prefix), then module. */
export function loadMigrations(sources: readonly MigrationSource[]): Migration[] {
  const migrations: Migration[] = [];
  for (const source of sources) {
    if (!existsSync(source.directory)) continue;
    for (const file of readdirSync(source.directory)) {
      if (!file.endsWith('.sql')) continue;
      if (!migrationFilePattern.test(file)) {
        throw new MigrationError(`migration file ${source.module}/${file} must be named NNNN_words.sql`);
      }
      const sqlText = readFileSync(path.join(source.directory, file), 'utf8');
      const checksum = createHash('sha256').update(sqlText).digest('hex');
      migrations.push({ name: `${source.module}/${file}`, module: source.module, file, sqlText, checksum });
    }
  }
  migrations.sort((a, b) => a.file.localeCompare(b.file) || a.module.localeCompare(b.module));
  return migrations;
}

async function ensureMigrationsTable(sql: Sql): Promise<void> {
  await sql`
    create table if not exists public.payflow_migrations (
      name text primary key check (name ~ '^[a-z0-9_-]+/[0-9]{4}_[a-z0-9_]+\\.sql$'),
      checksum text not null check (length(checksum) = 64),
      applied_at timestamptz not null default now()
    )`;
}

async function appliedChecksums(sql: Sql): Promise<Map<string, string>> {
  const rows = await sql<{ name: string; checksum: string }[]>`
    select name, checksum from public.payflow_migrations`;
  return new Map(rows.map((row) => [row.name, row.checksum]));
}

function assertUnchanged(migrations: readonly Migration[], applied: Map<string, string>): void {
  for (const migration of migrations) {
    const checksum = applied.get(migration.name);
    if (checksum !== undefined && checksum !== migration.checksum) {
      throw new MigrationError(
        `migration ${migration.name} was changed after it was applied; migrations are forward-only, add a new one`,
      );
    }
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const position = (error as { position?: unknown }).position;
  return `${message.split('\n')[0]}${position ? ` (at character ${String(position)})` : ''}`;
}

/** Applies pending migrations. Returns the names applied, in order. Idempotent. */
export async function migrate(sql: Sql, migrations: readonly Migration[]): Promise<string[]> {
  const lockConnection = await sql.reserve();
  try {
    await lockConnection`select pg_advisory_lock(${advisoryLockKey})`;
    await ensureMigrationsTable(sql);
    assertUnchanged(migrations, await appliedChecksums(sql));
    const umzug = new Umzug({
      migrations: migrations.map((migration) => ({
        name: migration.name,
        up: async () => {
          try {
            await sql.begin(async (transaction) => {
              await transaction.unsafe(migration.sqlText);
              await transaction`
                insert into public.payflow_migrations (name, checksum)
                values (${migration.name}, ${migration.checksum})`;
            });
          } catch (error) {
            throw new MigrationError(`migration ${migration.name} failed: ${firstLine(error)}`);
          }
        },
      })),
      storage: {
        executed: async () => [...(await appliedChecksums(sql)).keys()],
        // Recorded inside the migration's own transaction (above), so a crash cannot split them.
        logMigration: async () => undefined,
        unlogMigration: async () => {
          throw new MigrationError('migrations are forward-only');
        },
      },
      logger: undefined,
    });
    const applied = await umzug.up();
    return applied.map((item) => item.name);
  } catch (error) {
    // Umzug wraps failures; surface ours with its one-line message.
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof MigrationError) throw cause;
    throw error;
  } finally {
    await lockConnection`select pg_advisory_unlock(${advisoryLockKey})`.catch(() => undefined);
    lockConnection.release();
  }
}

/** Names of migrations not yet applied (empty when the schema is current). */
export async function pendingMigrations(sql: Sql, migrations: readonly Migration[]): Promise<string[]> {
  const [table] = await sql<{ exists: boolean }[]>`
    select to_regclass('public.payflow_migrations') is not null as exists`;
  if (!table?.exists) return migrations.map((migration) => migration.name);
  const applied = await appliedChecksums(sql);
  return migrations.filter((migration) => !applied.has(migration.name)).map((migration) => migration.name);
}
