import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createEmptyDatabase, type TestDatabase } from '../../../test/support/database.ts';
import { createSql } from './client.ts';
import { loadMigrations, migrate, MigrationError, pendingMigrations } from './migrate.ts';

const databases: TestDatabase[] = [];
after(async () => {
  for (const database of databases) await database.drop();
});

async function emptyDatabase(): Promise<TestDatabase> {
  const database = await createEmptyDatabase();
  databases.push(database);
  return database;
}

function migrationsDirectory(files: Record<string, string>): string {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'payflow-migrations-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(directory, name), text);
  return directory;
}

test('migrations apply once, in order, and are recorded; a second run is a no-op', async () => {
  const { sql } = await emptyDatabase();
  const alpha = migrationsDirectory({
    '0001_create.sql': 'create schema alpha; create table alpha.items (id int primary key);',
    '0003_more.sql': 'alter table alpha.items add column name text;',
  });
  const beta = migrationsDirectory({
    '0002_create.sql': 'create schema beta; create table beta.things (id int);',
  });
  const migrations = loadMigrations([
    { module: 'alpha', directory: alpha },
    { module: 'beta', directory: beta },
  ]);
  assert.deepEqual(await pendingMigrations(sql, migrations), [
    'alpha/0001_create.sql',
    'beta/0002_create.sql',
    'alpha/0003_more.sql',
  ]);
  assert.deepEqual(await migrate(sql, migrations), [
    'alpha/0001_create.sql',
    'beta/0002_create.sql',
    'alpha/0003_more.sql',
  ]);
  assert.deepEqual(await migrate(sql, migrations), []);
  assert.deepEqual(await pendingMigrations(sql, migrations), []);
  const recorded = await sql<
    { name: string }[]
  >`select name from public.payflow_migrations order by applied_at, name`;
  assert.equal(recorded.length, 3);
  await sql`insert into alpha.items (id, name) values (1, 'works')`;
});

test('a failing migration leaves nothing half-applied and reports one line', async () => {
  const { sql } = await emptyDatabase();
  const directory = migrationsDirectory({
    '0001_good.sql': 'create schema gamma; create table gamma.a (id int);',
    '0002_bad.sql': 'create table gamma.b (id int); insert into gamma.nope values (1);',
  });
  const migrations = loadMigrations([{ module: 'gamma', directory }]);
  await assert.rejects(migrate(sql, migrations), (error: unknown) => {
    assert.ok(error instanceof MigrationError);
    assert.match(error.message, /gamma\/0002_bad\.sql failed: .*gamma\.nope/);
    assert.ok(!error.message.includes('\n'));
    return true;
  });
  const [table] = await sql<{ exists: boolean }[]>`select to_regclass('gamma.b') is not null as exists`;
  assert.equal(table?.exists, false, 'the failed migration rolled back entirely');
  assert.deepEqual(await pendingMigrations(sql, migrations), ['gamma/0002_bad.sql']);
});

test('an applied migration that was edited afterwards is refused', async () => {
  const { sql } = await emptyDatabase();
  const directory = migrationsDirectory({ '0001_a.sql': 'create table public.edited (id int);' });
  await migrate(sql, loadMigrations([{ module: 'delta', directory }]));
  writeFileSync(path.join(directory, '0001_a.sql'), 'create table public.edited (id bigint);');
  await assert.rejects(
    migrate(sql, loadMigrations([{ module: 'delta', directory }])),
    /was changed after it was applied/,
  );
});

test('badly named migration files are refused', () => {
  const directory = migrationsDirectory({ 'create.sql': 'select 1' });
  assert.throws(() => loadMigrations([{ module: 'epsilon', directory }]), /must be named NNNN_words\.sql/);
});

test('several processes migrating at once apply each migration exactly once', async () => {
  const database = await emptyDatabase();
  const directory = migrationsDirectory({
    '0001_a.sql': 'create table public.counter (id int primary key); insert into public.counter values (1);',
    '0002_b.sql': 'insert into public.counter values (2);',
  });
  const migrations = loadMigrations([{ module: 'zeta', directory }]);
  const pools = [1, 2, 3, 4].map(() => createSql({ url: database.url, maxConnections: 2 }));
  try {
    const results = await Promise.all(pools.map((pool) => migrate(pool, migrations)));
    assert.equal(results.flat().length, 2);
    const rows = await database.sql`select id from public.counter order by id`;
    assert.deepEqual(
      rows.map((row) => row.id),
      [1, 2],
    );
  } finally {
    await Promise.all(pools.map((pool) => pool.end()));
  }
});
