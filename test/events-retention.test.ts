// Event retention (ADR 28): published outbox rows and log events every group is done with go after
// EVENTS_RETENTION_DAYS; unpublished outbox rows, events a group has not reached, events waiting for
// a retry and open dead letters stay; events.log stays append-only for everything but retention.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import type { Sql } from '../src/platform/db/client.ts';
import { newId } from '../src/platform/ids.ts';
import { loadConfiguration } from '../src/apps/configuration.ts';
import { createLogger } from '../src/platform/log.ts';
import { systemClock } from '../src/platform/clock.ts';
import { eventsModule, type EventsFace } from '../src/modules/events/index.ts';
// eslint-disable-next-line payflow/module-boundaries
import { relayAll } from '../src/modules/events/infra/relay.ts';
// eslint-disable-next-line payflow/module-boundaries
import { pollGroup, type ConsumerSettings } from '../src/modules/events/infra/consumer.ts';
// eslint-disable-next-line payflow/module-boundaries
import { pruneEvents } from '../src/modules/events/infra/retention.ts';

const databases: TestDatabase[] = [];
after(async () => {
  for (const database of databases) await database.drop();
});

async function stage(sql: Sql, events: EventsFace, aggregateId: string): Promise<string> {
  const { eventId } = await sql.begin((transaction) =>
    events.stage(transaction, {
      type: 'payment.captured.v1',
      aggregateId,
      merchantId: 'mer_test',
      payload: { paymentId: aggregateId },
      occurredAt: new Date(),
    }),
  );
  return eventId;
}

const count = async (sql: Sql, table: 'outbox' | 'log' | 'inbox' | 'dead_letters' | 'retries') =>
  Number((await sql<{ n: bigint }[]>`select count(*)::bigint as n from ${sql('events.' + table)}`)[0]!.n);

test('old handled events go in batches; unpublished, unreached, retrying and dead-lettered ones stay', async () => {
  const database = await createTestDatabase();
  databases.push(database);
  const { sql } = database;
  const context = {
    ...loadConfiguration({}),
    sql,
    log: createLogger({ level: 'silent' }),
    clock: systemClock,
  };
  const events = (await eventsModule.create!(context, {})).face as EventsFace;

  const healthy = newId('pay');
  const poisoned = newId('pay');
  const dead = newId('pay');
  for (let index = 0; index < 5; index += 1) await stage(sql, events, healthy);
  await stage(sql, events, poisoned);
  await stage(sql, events, dead);
  await relayAll(sql);
  const settings: ConsumerSettings = { maxAttempts: 2, retryBaseMs: 60_000, now: () => new Date() };
  const group = 'test-retention';
  const failing = new Set([poisoned, dead]);
  const subscription = {
    group,
    types: ['payment.captured.v1'],
    handler: async (_event: unknown, { aggregateId }: { aggregateId: string }) => {
      if (failing.has(aggregateId)) throw new Error('receiver down');
    },
  };
  await pollGroup(sql, subscription, settings);
  // `dead` goes to the dead letters now; `poisoned` waits for a retry a minute away.
  await sql`update events.retries set next_attempt_at = now() where aggregate_id = ${dead}`;
  await pollGroup(sql, subscription, settings);
  assert.equal(await count(sql, 'dead_letters'), 1);
  assert.equal(await count(sql, 'retries'), 1);

  // Two events the group has not reached yet, and one never relayed.
  const lateHealthy = await stage(sql, events, healthy);
  await relayAll(sql);
  const late = await stage(sql, events, newId('pay'));
  await relayAll(sql);
  const pending = await stage(sql, events, newId('pay'));
  // The group has handled every event up to the first seven (its offset); the two after it wait.
  await sql`update events.consumer_offsets set position = (select max(position) from events.log) - 2`;
  assert.equal(await count(sql, 'outbox'), 10);
  assert.equal(await count(sql, 'log'), 9);
  assert.equal(await count(sql, 'inbox'), 5);

  // Nothing is older than a cutoff in the past.
  assert.deepEqual(await pruneEvents(sql, new Date(Date.now() - 86_400_000), { groups: [group] }), {
    outbox: 0,
    log: 0,
  });

  const result = await pruneEvents(sql, new Date(Date.now() + 1_000), { groups: [group], batchMax: 2 });
  // Outbox: every published row (9) goes, the unpublished one stays.
  assert.equal(result.outbox, 9);
  const outboxLeft = await sql<{ event_id: string }[]>`select event_id from events.outbox`;
  assert.deepEqual(
    outboxLeft.map((row) => row.event_id),
    [pending],
  );
  // Log: the five handled events of `healthy` go with their inbox rows; the retrying one, the
  // dead-lettered one and the two beyond the offset stay.
  assert.equal(result.log, 5);
  const logLeft = (
    await sql<{ event_id: string; aggregate_id: string }[]>`
    select event_id, aggregate_id from events.log order by position`
  ).map((row) => row.event_id);
  assert.equal(logLeft.length, 4);
  assert.ok(logLeft.includes(lateHealthy) && logLeft.includes(late));
  assert.equal(await count(sql, 'inbox'), 0);
  assert.equal(await count(sql, 'dead_letters'), 1);

  // A replayed dead letter no longer pins its event; the retry still does.
  await sql`update events.dead_letters set replayed_at = now()`;
  const second = await pruneEvents(sql, new Date(Date.now() + 1_000), { groups: [group] });
  assert.deepEqual(second, { outbox: 0, log: 1 });
  assert.equal(await count(sql, 'dead_letters'), 0);
  assert.equal(await count(sql, 'retries'), 1);

  // Outside retention, the log is still append-only.
  await assert.rejects(sql`delete from events.log`, /append-only/);
  await assert.rejects(sql`update events.log set type = type`, /append-only/);
  await assert.rejects(
    sql.begin(async (transaction) => {
      await transaction`select set_config('payflow.events_retention', 'on', true)`;
      await transaction`update events.log set type = type`;
    }),
    /append-only/,
  );
});
