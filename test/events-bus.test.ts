// The postgres event bus against real PostgreSQL: the relay publishes in commit order without gaps
// or duplicates (also with racing relays, and after being killed mid-batch); consumer groups handle
// each event once, keep per-aggregate order, retry, and dead-letter a poison event while the others
// keep flowing; `payflow events dlq list|replay` bring it back once the handler is fixed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { repositoryRoot, runCli } from './support/server.ts';
import { createSql, type Sql } from '../src/platform/db/client.ts';
import { newId } from '../src/platform/ids.ts';
import { loadConfiguration } from '../src/apps/configuration.ts';
import { createLogger } from '../src/platform/log.ts';
import { systemClock } from '../src/platform/clock.ts';
import { eventsModule, type EventHandler, type EventsFace } from '../src/modules/events/index.ts';
// The relay and consumer loops are driven step by step here instead of through the worker's timers.
// eslint-disable-next-line payflow/module-boundaries
import { relayAll, relayBatch } from '../src/modules/events/infra/relay.ts';
// eslint-disable-next-line payflow/module-boundaries
import { pollGroup, type ConsumerSettings } from '../src/modules/events/infra/consumer.ts';

const databases: TestDatabase[] = [];
after(async () => {
  for (const database of databases) await database.drop();
});

async function setUp(): Promise<{ database: TestDatabase; events: EventsFace }> {
  const database = await createTestDatabase();
  databases.push(database);
  const context = {
    ...loadConfiguration({}),
    sql: database.sql,
    log: createLogger({ level: 'silent' }),
    clock: systemClock,
  };
  return { database, events: (await eventsModule.create!(context, {})).face as EventsFace };
}

async function stage(sql: Sql, events: EventsFace, aggregateId: string, sequence: number): Promise<string> {
  const { eventId } = await sql.begin((transaction) =>
    events.stage(transaction, {
      type: 'payment.captured.v1',
      aggregateId,
      merchantId: 'mer_test',
      payload: { paymentId: aggregateId, sequence, amount: BigInt(sequence * 100) },
      occurredAt: new Date(),
    }),
  );
  return eventId;
}

async function logRows(sql: Sql) {
  return sql<{ position: bigint; event_id: string; aggregate_id: string }[]>`
    select position, event_id, aggregate_id from events.log order by position`;
}

function assertContiguous(positions: readonly bigint[]): void {
  assert.deepEqual(
    positions,
    positions.map((_, index) => BigInt(index + 1)),
  );
}

test('the relay publishes in commit order, not staging order, with contiguous positions', async () => {
  const { database, events } = await setUp();
  const aggregate = newId('pay');
  const early = await database.sql.reserve();
  try {
    // Staged first, committed last.
    await early`begin`;
    const { eventId: stagedFirst } = await events.stage(early as never, {
      type: 'payment.authorized.v1',
      aggregateId: newId('pay'),
      merchantId: 'mer_test',
      payload: {},
      occurredAt: new Date(),
    });
    const committedFirst = await stage(database.sql, events, aggregate, 1);
    assert.equal(await relayAll(database.sql), 1);
    await early`commit`;
    assert.equal(await relayAll(database.sql), 1);
    const rows = await logRows(database.sql);
    assert.deepEqual(
      rows.map((row) => row.event_id),
      [committedFirst, stagedFirst],
    );
    assertContiguous(rows.map((row) => row.position));
  } finally {
    early.release();
  }
  const [outbox] = await database.sql<{ unpublished: bigint }[]>`
    select count(*) filter (where position is null)::bigint as unpublished from events.outbox`;
  assert.equal(outbox!.unpublished, 0n);
  await assert.rejects(database.sql`delete from events.log`, /append-only/);
});

test('racing relays publish every event exactly once, each aggregate in staging order', async () => {
  const { database, events } = await setUp();
  const aggregates = [newId('pay'), newId('pay'), newId('pay')];
  const pool = createSql({ url: database.url, maxConnections: 12 });
  try {
    const producing = (async () => {
      for (let sequence = 1; sequence <= 40; sequence += 1)
        await stage(database.sql, events, aggregates[sequence % 3]!, sequence);
    })();
    const relaying = Array.from({ length: 8 }, async () => {
      for (let round = 0; round < 30; round += 1) await relayBatch(pool, { batchMax: 3 });
    });
    await Promise.all([producing, ...relaying]);
    await relayAll(pool);
  } finally {
    await pool.end({ timeout: 2 });
  }
  const rows = await database.sql<{ position: bigint; aggregate_id: string; sequence: number }[]>`
    select position, aggregate_id, (payload ->> 'sequence')::int as sequence from events.log order by position`;
  assert.equal(rows.length, 40);
  assertContiguous(rows.map((row) => row.position));
  assert.equal(new Set(rows.map((row) => row.sequence)).size, 40);
  for (const aggregate of aggregates) {
    const sequences = rows.filter((row) => row.aggregate_id === aggregate).map((row) => row.sequence);
    assert.deepEqual(
      sequences,
      [...sequences].sort((left, right) => left - right),
    );
  }
});

test('a relay killed mid-batch loses nothing: the next relay publishes every event once', async () => {
  const { database, events } = await setUp();
  const staged: string[] = [];
  for (let sequence = 1; sequence <= 120; sequence += 1)
    staged.push(await stage(database.sql, events, newId('pay'), sequence));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(repositoryRoot, 'test/support/relay-crash.ts'), database.url],
    { cwd: repositoryRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
    child.once('exit', (_code, exitSignal) => resolve(exitSignal)),
  );
  assert.equal(signal, 'SIGKILL', output);
  assert.match(output, /written 50, log holds 50 inside the transaction/);
  // The killed relay's transaction rolled back (PostgreSQL notices the dead connection).
  for (let waited = 0; ; waited += 1) {
    const [active] = await database.sql<{ count: bigint }[]>`
      select count(*)::bigint as count from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid() and state like 'idle in transaction%'`;
    if (active!.count === 0n) break;
    assert.ok(waited < 500, 'the killed relay’s transaction is still open');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.equal((await logRows(database.sql)).length, 0);

  assert.equal(await relayAll(database.sql), 120);
  const rows = await logRows(database.sql);
  assertContiguous(rows.map((row) => row.position));
  assert.deepEqual(new Set(rows.map((row) => row.event_id)), new Set(staged));
  assert.equal(await relayAll(database.sql), 0);
});

async function createEffectsTable(sql: Sql): Promise<void> {
  await sql`
    create table if not exists public.test_effects (
      id bigint generated always as identity primary key,
      consumer_group text not null,
      event_id text not null,
      aggregate_id text not null,
      sequence int not null
    )`;
}

function recordingHandler(group: string, isPoison: (sequence: number) => boolean): EventHandler {
  return async (event, { transaction }) => {
    const sequence = event.payload.sequence as number;
    if (isPoison(sequence)) throw new Error(`cannot handle sequence ${sequence}`);
    await transaction`
      insert into public.test_effects (consumer_group, event_id, aggregate_id, sequence)
      values (${group}, ${event.eventId}, ${event.payload.paymentId as string}, ${sequence})`;
  };
}

test('a poison event is dead-lettered after N attempts while the others flow; replay delivers it once', async () => {
  const { database, events } = await setUp();
  await createEffectsTable(database.sql);
  const poisonAggregate = newId('pay');
  const otherAggregate = newId('pay');
  // sequence 2 is the poison; 4 and 6 come after it on the same aggregate and must wait for it.
  for (let sequence = 1; sequence <= 8; sequence += 1)
    await stage(database.sql, events, sequence % 2 === 0 ? poisonAggregate : otherAggregate, sequence);
  const staged = await events.stats(database.sql);
  assert.equal(staged.outboxUnpublished, 8);
  assert.ok(staged.outboxOldestUnpublishedSeconds >= 0);
  await relayAll(database.sql);

  let poisoned = true;
  const group = 'test-receipts';
  const subscription = {
    group,
    types: ['payment.captured.v1'],
    handler: recordingHandler(group, (sequence) => poisoned && sequence === 2),
  };
  const settings: ConsumerSettings = { maxAttempts: 3, retryBaseMs: 0, now: () => new Date() };
  const first = await pollGroup(database.sql, subscription, settings);
  // Every event of the other aggregate is handled in the first poll; the poison's followers wait.
  assert.deepEqual(first, { handled: 4, failed: 1, deadLettered: 0 });
  const handled = async () =>
    (
      await database.sql<{ sequence: number }[]>`
        select sequence from public.test_effects where consumer_group = ${group} order by id`
    ).map((row) => row.sequence);
  assert.deepEqual(await handled(), [1, 3, 5, 7]);

  const second = await pollGroup(database.sql, subscription, settings);
  assert.deepEqual(second, { handled: 0, failed: 1, deadLettered: 0 });
  const third = await pollGroup(database.sql, subscription, settings);
  assert.deepEqual(third, { handled: 0, failed: 1, deadLettered: 1 });
  // Dead-lettered: its aggregate moves on, in order.
  for (let poll = 0; poll < 5; poll += 1) await pollGroup(database.sql, subscription, settings);
  assert.deepEqual(await handled(), [1, 3, 5, 7, 4, 6, 8]);
  assert.deepEqual(await events.stats(database.sql), {
    outboxUnpublished: 0,
    outboxOldestUnpublishedSeconds: 0,
    logPosition: 8,
    consumerGroups: [{ group, lag: 0, retrying: 0 }],
    deadLetters: 1,
  });

  const listed = await runCli(['events', 'dlq', 'list'], { DATABASE_URL: database.url });
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(
    listed.stdout,
    /group=test-receipts .*type=payment\.captured\.v1 .*attempts=3 .*cannot handle sequence 2/,
  );
  assert.match(listed.stdout, /dead letters: 1/);
  const [dead] = await database.sql<{ id: string; attempts: number; error: string }[]>`
    select id, attempts, error from events.dead_letters`;
  assert.equal(dead!.attempts, 3);
  assert.equal(dead!.error, 'Error: cannot handle sequence 2');

  // Replay before the fix: it fails again and goes back to the dead letters.
  const replayed = await runCli(['events', 'dlq', 'replay', dead!.id], { DATABASE_URL: database.url });
  assert.equal(replayed.code, 0, replayed.stderr);
  assert.match(replayed.stdout, new RegExp(`replayed ${dead!.id}`));
  for (let poll = 0; poll < 5; poll += 1) await pollGroup(database.sql, subscription, settings);
  const again = await database.sql<
    { id: string }[]
  >`select id from events.dead_letters where replayed_at is null`;
  assert.equal(again.length, 1);

  // The fix, then a replay: delivered once.
  poisoned = false;
  const replayAll = await runCli(['events', 'dlq', 'replay', '--all'], { DATABASE_URL: database.url });
  assert.equal(replayAll.code, 0, replayAll.stderr);
  assert.match(replayAll.stdout, /replayed: 1/);
  for (let poll = 0; poll < 3; poll += 1) await pollGroup(database.sql, subscription, settings);
  assert.deepEqual(await handled(), [1, 3, 5, 7, 4, 6, 8, 2]);
  assert.match((await runCli(['events', 'dlq', 'list'], { DATABASE_URL: database.url })).stdout, /none/);
  const unknown = await runCli(['events', 'dlq', 'replay', 'dlq_nope'], { DATABASE_URL: database.url });
  assert.equal(unknown.code, 1);
});

test('each group handles each event once, even when an event is queued for it twice', async () => {
  const { database, events } = await setUp();
  await createEffectsTable(database.sql);
  for (let sequence = 1; sequence <= 5; sequence += 1)
    await stage(database.sql, events, newId('pay'), sequence);
  await relayAll(database.sql);
  const settings: ConsumerSettings = { maxAttempts: 3, retryBaseMs: 0, now: () => new Date() };
  const groups = ['test-a', 'test-b'];
  for (const group of groups) {
    const subscription = { group, types: [], handler: recordingHandler(group, () => false) };
    assert.equal((await pollGroup(database.sql, subscription, settings)).handled, 5);
    // A redelivery (the same event queued again, as a replay or a crash between effect and offset would).
    await database.sql`
      insert into events.retries (consumer_group, position, aggregate_id, attempts, next_attempt_at)
      select ${group}, position, aggregate_id, 0, now() from events.log where position = 3`;
    await pollGroup(database.sql, subscription, settings);
    assert.equal((await pollGroup(database.sql, subscription, settings)).handled, 0);
  }
  const counts = await database.sql<{ consumer_group: string; effects: bigint; distinct_events: bigint }[]>`
    select consumer_group, count(*)::bigint as effects, count(distinct event_id)::bigint as distinct_events
    from public.test_effects group by consumer_group order by consumer_group`;
  assert.deepEqual(
    counts.map((row) => ({ ...row })),
    groups.map((group) => ({ consumer_group: group, effects: 5n, distinct_events: 5n })),
  );
});
