// Each test file gets its own database, cloned from the migrated template that scripts/test.ts built,
// so tests run in parallel against real PostgreSQL without seeing each other's rows.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { createSql, type Sql } from '../../src/platform/db/client.ts';

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  readonly sql: Sql;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is unset: run tests with \`npm test\` (scripts/test.ts prepares the database)`);
  return value;
}

export function adminUrl(): string {
  return requireEnv('PAYFLOW_TEST_ADMIN_URL');
}

export function databaseUrl(name: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

async function withAdmin<T>(work: (admin: postgres.Sql) => Promise<T>): Promise<T> {
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => undefined });
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}

/** An empty database (no migrations), for tests of the migration runner itself. */
export async function createEmptyDatabase(): Promise<TestDatabase> {
  return createDatabase('template0');
}

/** A database with every migration applied. */
export async function createTestDatabase(): Promise<TestDatabase> {
  return createDatabase(requireEnv('PAYFLOW_TEST_TEMPLATE'));
}

async function createDatabase(template: string): Promise<TestDatabase> {
  const name = `${requireEnv('PAYFLOW_TEST_PREFIX')}${randomBytes(6).toString('hex')}`;
  await withAdmin((admin) => admin.unsafe(`create database "${name}" template "${template}"`));
  const url = databaseUrl(name);
  const sql = createSql({ url, maxConnections: 3 });
  // postgres.js builds a connection's first query before the array types it fetched are registered,
  // so a first query with sql.array() would send text; the first query here is a plain one.
  await sql`select 1`;
  return {
    url,
    name,
    sql,
    async drop() {
      await sql.end({ timeout: 2 });
      await withAdmin((admin) => admin.unsafe(`drop database if exists "${name}" with (force)`));
    },
  };
}
