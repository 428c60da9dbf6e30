// ADR 35 on the migrated schema: every table of a module's schema is global (listed below, with why)
// or per merchant, and a per-merchant table has a `merchant_id` that is never null and is part of
// every unique key it has (primary key, unique constraints, unique indexes), so it can be distributed
// by merchant without rewriting its keys. What is not there yet is listed in `notYet` with the reason
// it was not cheap (docs/deploy.md, "Past one database"). A new table, or a new unique key, without
// the merchant fails here until it has it or is listed.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import type { Queryable } from '../src/platform/db/client.ts';

/** Tables that belong to no one merchant. */
const global = new Map<string, string>([
  [
    'identity.clients',
    'API clients: admin and service clients have no merchant; found by client id before any merchant is known',
  ],
  ['identity.client_access_changes', 'the audit of identity.clients'],
  ['identity.signing_keys', 'the platform’s token signing keys'],
  [
    'identity.dashboard_users',
    'sign-in finds a user by email before any merchant is known; operators have no merchant',
  ],
  ['identity.dashboard_sessions', 'found by the session cookie’s hash before any merchant is known'],
  ['vault.fingerprint_key', 'one platform key'],
  [
    'vault.access_log',
    'the vault’s audit log; key rotations belong to no merchant (the vault keeps its own database)',
  ],
  ['events.relay_state', 'the relay’s position in the one global order (one per shard once sharded)'],
  [
    'events.consumer_offsets',
    'a consumer group’s position in the one global order (one per shard once sharded)',
  ],
  ['settlement.job_runs', 'platform jobs (a settlement run covers every merchant)'],
  ['settlement.reconciliation_runs', 'one acquirer report covers every merchant'],
  ['settlement.reconciliation_results', 'the rows of an acquirer report; an unexpected row has no merchant'],
]);

/**
 * Per-merchant tables (no `merchant_id` yet) and unique keys (no merchant in them yet) that remain,
 * with why they were not cheap now. Each entry must still be true: the list shrinks as they are done.
 */
const notYet = new Map<string, string>([
  [
    'payments.payments_pkey',
    'the authorize path finds a payment by id; refunds and owed operations reference it',
  ],
  [
    'payments.payments_processor_reference_key',
    'the acquirer’s reference, unique on the authorize path’s insert',
  ],
  ['payments.refunds_pkey', 'with payments.payments (refunds reference payments by id)'],
  ['payments.refunds_processor_reference_key', 'with payments.payments_processor_reference_key'],
  [
    'vault.card_tokens_pkey',
    'detokenize finds a token by id on the authorize path; cvc_records references it',
  ],
  ['vault.cvc_records', 'keyed and referenced by token id only, with vault.card_tokens'],
  ['events.outbox_pkey', 'the relay publishes in one global order (staged_sequence)'],
  [
    'events.outbox_event_id_key',
    'event ids are checked once across the platform by the log and the transports',
  ],
  ['events.outbox_position_key', 'the one global position'],
  ['events.log_pkey', 'the one global position; sharded, a log per shard'],
  ['events.log_event_id_key', 'with events.log_pkey'],
  ['events.inbox', 'keyed by consumer group and event id; changes with the per-shard log'],
  ['events.retries', 'references the log’s global position'],
  ['events.dead_letters', 'references the log’s global position'],
  ['fraud.velocity', 'a counter is a string key that may count across merchants (a card’s attempts)'],
]);

let database: TestDatabase;
before(async () => {
  database = await createTestDatabase();
});
after(async () => {
  await database?.drop();
});

interface Table {
  readonly name: string;
  /** null: no merchant_id column; else whether it may be null. */
  readonly merchantNullable: boolean | null;
  readonly uniqueKeys: readonly { readonly name: string; readonly columns: readonly string[] }[];
}

async function moduleTables(sql: Queryable): Promise<Table[]> {
  const tables = await sql<{ schema: string; name: string; nullable: string | null }[]>`
    select t.table_schema as schema, t.table_name as name, c.is_nullable as nullable
    from information_schema.tables t
    left join information_schema.columns c
      on c.table_schema = t.table_schema and c.table_name = t.table_name and c.column_name = 'merchant_id'
    where t.table_type = 'BASE TABLE'
      and t.table_schema not in ('public', 'pg_catalog', 'information_schema') and t.table_schema !~ '^pg_'
    order by 1, 2`;
  // Unique indexes rather than information_schema's constraints: a unique index that is no
  // constraint (a partial one) is a key too.
  const keys = await sql<{ schema: string; table: string; name: string; columns: string[] }[]>`
    select n.nspname as schema, t.relname as table, i.relname as name,
      array(select coalesce(a.attname, '(expression)') from unnest(x.indkey) with ordinality k(attnum, ord)
            left join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum order by k.ord) as columns
    from pg_index x
    join pg_class i on i.oid = x.indexrelid
    join pg_class t on t.oid = x.indrelid
    join pg_namespace n on n.oid = t.relnamespace
    where x.indisunique
      and n.nspname not in ('public', 'pg_catalog', 'information_schema') and n.nspname !~ '^pg_'`;
  return tables.map((table) => ({
    name: `${table.schema}.${table.name}`,
    merchantNullable: table.nullable === null ? null : table.nullable === 'YES',
    uniqueKeys: keys
      .filter((key) => key.schema === table.schema && key.table === table.name)
      .map((key) => ({ name: `${key.schema}.${key.name}`, columns: key.columns })),
  }));
}

/** What breaks the rule, minus what `notYet` lists: one line each. */
function breaches(tables: readonly Table[]): string[] {
  const found: string[] = [];
  for (const table of tables) {
    if (global.has(table.name)) continue;
    if (table.merchantNullable !== false) {
      if (!notYet.has(table.name))
        found.push(
          `${table.name}: ${table.merchantNullable === null ? 'no merchant_id column' : 'merchant_id may be null'}`,
        );
      continue;
    }
    for (const key of table.uniqueKeys) {
      if (!key.columns.includes('merchant_id') && !notYet.has(key.name))
        found.push(`${table.name}: unique key ${key.name} (${key.columns.join(', ')}) without merchant_id`);
    }
  }
  return found;
}

test('every per-merchant table has merchant_id, never null, in every unique key; the others are listed as global', async () => {
  const tables = await moduleTables(database.sql);
  assert.ok(tables.length >= 40, `${tables.length} tables found`);
  assert.deepEqual(breaches(tables), []);
  const names = new Set(tables.map((table) => table.name));
  for (const name of global.keys()) assert.ok(names.has(name), `global ${name} is no table`);
  // The lists stay true: each entry names a table or key that still lacks the merchant.
  const keys = new Map(tables.flatMap((table) => table.uniqueKeys.map((key) => [key.name, key] as const)));
  for (const name of notYet.keys()) {
    const table = tables.find((candidate) => candidate.name === name);
    if (table) {
      assert.notEqual(table.merchantNullable, false, `${name} has merchant_id now: take it off notYet`);
      continue;
    }
    const key = keys.get(name);
    assert.ok(key, `notYet ${name} is no table or unique key`);
    assert.ok(!key.columns.includes('merchant_id'), `${name} has merchant_id now: take it off notYet`);
  }
});

test('a new table keyed without the merchant, or with a nullable merchant_id, is caught', async () => {
  await database.sql
    .begin(async (transaction) => {
      await transaction`create table payments.probe_keyed_by_id (id text primary key, merchant_id text not null)`;
      await transaction`create table payments.probe_no_merchant (id text, merchant text, primary key (merchant, id))`;
      await transaction`create table payments.probe_nullable (id text, merchant_id text, unique (id, merchant_id))`;
      await transaction`
      create table payments.probe_sound (id text, merchant_id text not null, code text,
        primary key (id, merchant_id))`;
      await transaction`create unique index probe_sound_code on payments.probe_sound (code) where code is not null`;
      const found = breaches(await moduleTables(transaction)).filter((line) => line.includes('probe_'));
      assert.deepEqual(found, [
        'payments.probe_keyed_by_id: unique key payments.probe_keyed_by_id_pkey (id) without merchant_id',
        'payments.probe_no_merchant: no merchant_id column',
        'payments.probe_nullable: merchant_id may be null',
        'payments.probe_sound: unique key payments.probe_sound_code (code) without merchant_id',
      ]);
      throw new RollBack(); // nothing of the probes stays
    })
    .catch((error: unknown) => {
      if (!(error instanceof RollBack)) throw error;
    });
});

class RollBack extends Error {}
