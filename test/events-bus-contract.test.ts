// One contract for every event-bus transport (postgres, NATS JetStream, Kafka), run against each
// whose server is reachable: postgres always; NATS when NATS_URL is set (CI sets it); Kafka when
// KAFKA_BROKERS is set (.ci/run starts a broker with `npm run kafka:start` and sets it; without Java
// the Kafka part skips with the reason). Each test drives the module's own relay and consumer jobs and checks the
// handlers' database effects: every event reaches every group once, in per-payment order, with
// retries, dead letters and replay, across a republish and a consumer restart.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { loadConfiguration } from '../src/apps/configuration.ts';
import { loadSettings } from '../src/platform/settings.ts';
import { createLogger } from '../src/platform/log.ts';
import { systemClock } from '../src/platform/clock.ts';
import { newId } from '../src/platform/ids.ts';
import type { Sql } from '../src/platform/db/client.ts';
import type { ModuleRuntime } from '../src/platform/module.ts';
import {
  eventsModule,
  eventsSettings,
  openTransport,
  type EventHandler,
  type EventsFace,
} from '../src/modules/events/index.ts';
// Dead letters are replayed here the way `payflow events dlq replay` does it.
// eslint-disable-next-line payflow/module-boundaries
import { listDeadLetters, replayDeadLetters } from '../src/modules/events/infra/dead-letters.ts';
// The relay is driven by hand where a test makes the broker carry only some events.
// eslint-disable-next-line payflow/module-boundaries
import { relayAll } from '../src/modules/events/infra/relay.ts';
// eslint-disable-next-line payflow/module-boundaries
import { messageBody } from '../src/modules/events/infra/transport.ts';
import { connect, headers } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kafka, logLevel } from 'kafkajs';

const natsUrl = process.env['NATS_URL']?.trim() || undefined;
const kafkaBrokers = process.env['KAFKA_BROKERS']?.trim() || undefined;

const transports = [
  { kind: 'postgres', skip: false as const },
  {
    kind: 'nats',
    skip:
      natsUrl === undefined
        ? 'NATS_URL is unset: the NATS JetStream contract needs a real server (nats-server -js; .ci/run sets it)'
        : (false as const),
  },
  {
    kind: 'kafka',
    skip:
      kafkaBrokers === undefined
        ? 'KAFKA_BROKERS is unset: start a broker with `npm run kafka:start` (needs Java 17 and Maven) and set KAFKA_BROKERS to the address it prints; .ci/run does both'
        : (false as const),
  },
] as const;

type Kind = (typeof transports)[number]['kind'];

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

interface Bus {
  readonly database: TestDatabase;
  readonly prefix: string;
  start(groups: Record<string, { types?: string[]; handler?: EventHandler }>): Promise<EventsFace>;
  /** Runs relay and consumer jobs until `done` holds (or fails after a deadline). */
  settle(done: () => Promise<boolean>, what: string): Promise<void>;
  stop(): Promise<void>;
  stage(aggregateId: string, sequence: number, type?: string): Promise<string>;
  effects(group: string): Promise<{ event_id: string; aggregate_id: string; sequence: number }[]>;
}

async function bus(kind: Kind, env: Record<string, string> = {}): Promise<Bus> {
  const database = await createTestDatabase();
  cleanups.push(() => database.drop());
  const prefix = `c${randomBytes(6).toString('hex')}`;
  const configuration = loadConfiguration({
    EVENT_BUS: kind,
    EVENT_BUS_PREFIX: prefix,
    EVENTS_RETRY_BASE_MS: '20',
    EVENTS_MAX_ATTEMPTS: '3',
    ...(natsUrl ? { NATS_URL: natsUrl } : {}),
    ...(kafkaBrokers ? { KAFKA_BROKERS: kafkaBrokers } : {}),
    ...env,
  });
  if (kind === 'nats') cleanups.push(() => deleteNatsStream(prefix));
  if (kind === 'kafka') cleanups.push(() => deleteKafkaTopic(prefix));
  await database.sql`
    create table public.effects (
      id bigserial primary key, consumer_group text not null, event_id text not null,
      aggregate_id text not null, sequence integer not null)`;
  const context = {
    ...configuration,
    sql: database.sql,
    log: createLogger({ level: 'silent' }),
    clock: systemClock,
  };
  let runtime: (ModuleRuntime & { face?: unknown }) | undefined;
  let controller = new AbortController();
  const stageWith = await eventsModule.create!(context, {});
  const stager = stageWith.face as EventsFace;
  cleanups.push(() => stageWith.close?.() ?? Promise.resolve());

  const recorder =
    (group: string, inner?: EventHandler): EventHandler =>
    async (event, handlerContext) => {
      await inner?.(event, handlerContext);
      await handlerContext.transaction`
        insert into public.effects (consumer_group, event_id, aggregate_id, sequence)
        values (${group}, ${event.eventId}, ${handlerContext.aggregateId}, ${Number(event.payload['sequence'])})`;
    };

  const self: Bus = {
    database,
    prefix,
    async start(groups) {
      runtime = await eventsModule.create!(context, {});
      controller = new AbortController();
      const face = runtime.face as EventsFace;
      for (const [group, { types, handler }] of Object.entries(groups)) {
        face.subscribe(group, types ?? [], recorder(group, handler));
      }
      return face;
    },
    async settle(done, what) {
      const deadline = Date.now() + 30_000;
      for (;;) {
        for (const job of runtime!.jobs ?? []) await job.run(controller.signal);
        if (await done()) return;
        assert.ok(Date.now() < deadline, `not settled within 30 s: ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop() {
      controller.abort();
      await runtime?.close?.();
      runtime = undefined;
    },
    async stage(aggregateId, sequence, type = 'payment.captured.v1') {
      const { eventId } = await database.sql.begin((transaction) =>
        stager.stage(transaction, {
          type,
          aggregateId,
          merchantId: 'mer_contract',
          payload: { paymentId: aggregateId, sequence, amount: BigInt(sequence) * 100n },
          occurredAt: new Date(),
        }),
      );
      return eventId;
    },
    effects: (group) =>
      database.sql<{ event_id: string; aggregate_id: string; sequence: number }[]>`
        select event_id, aggregate_id, sequence from public.effects
        where consumer_group = ${group} order by id`,
  };
  cleanups.push(() => self.stop());
  return self;
}

async function deleteNatsStream(prefix: string): Promise<void> {
  const url = new URL(natsUrl!);
  const connection = await connect({ servers: `${url.hostname}:${url.port || '4222'}` });
  try {
    const manager = await jetstreamManager(connection);
    await manager.streams.delete(`${prefix}_events`).catch(() => undefined);
    await manager.streams.delete(`${prefix}_dlq`).catch(() => undefined);
  } finally {
    await connection.close();
  }
}

/** How many messages the NATS stream holds (undefined for other transports). */
async function brokerMessages(kind: Kind, prefix: string): Promise<number | undefined> {
  if (kind !== 'nats') return undefined;
  const url = new URL(natsUrl!);
  const connection = await connect({ servers: `${url.hostname}:${url.port || '4222'}` });
  try {
    const manager = await jetstreamManager(connection);
    return (await manager.streams.info(`${prefix}_events`)).state.messages;
  } finally {
    await connection.close();
  }
}

/** The dead-letter ids the broker's dead-letter subject/topic holds (undefined for postgres). */
async function brokerDeadLetters(kind: Kind, prefix: string): Promise<string[] | undefined> {
  if (kind === 'nats') {
    const url = new URL(natsUrl!);
    const connection = await connect({ servers: `${url.hostname}:${url.port || '4222'}` });
    try {
      const manager = await jetstreamManager(connection);
      const { state } = await manager.streams.info(`${prefix}_dlq`);
      const ids: string[] = [];
      for (let sequence = state.first_seq; sequence <= state.last_seq && state.messages > 0; sequence += 1) {
        const message = await manager.streams.getMessage(`${prefix}_dlq`, { seq: sequence });
        ids.push(message!.header.get('payflow-dead-letter-id'));
      }
      return ids;
    } finally {
      await connection.close();
    }
  }
  if (kind === 'kafka') {
    const kafka = new Kafka({ brokers: kafkaBrokers!.split(','), logLevel: logLevel.NOTHING });
    // A new group each time: a reader commits its offsets, so a second read in the same group sees nothing.
    const consumer = kafka.consumer({ groupId: `${prefix}-dlq-reader-${randomBytes(4).toString('hex')}` });
    const ids: string[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [`${prefix}.payment.events.dlq`], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          ids.push(String(message.headers?.['payflow-dead-letter-id'] ?? ''));
        },
      });
      const deadline = Date.now() + 15_000;
      while (ids.length === 0 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await consumer.disconnect();
    }
    return ids;
  }
  return undefined;
}

async function deleteKafkaTopic(prefix: string): Promise<void> {
  const admin = new Kafka({ brokers: kafkaBrokers!.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [`${prefix}.payment.events`, `${prefix}.payment.events.dlq`] });
  } finally {
    await admin.disconnect();
  }
}

type Logged = {
  position: bigint;
  event_id: string;
  type: string;
  aggregate_id: string;
  merchant_id: string;
  payload: Record<string, unknown>;
  occurred_at: Date;
};

function loggedEvents(sql: Sql): Promise<Logged[]> {
  return sql<Logged[]>`
    select position, event_id, type, aggregate_id, merchant_id, payload, occurred_at
    from events.log order by position`;
}

/** A transport of the test's own on the bus's broker (as a second relay process would have). */
function secondTransport(kind: Kind, events: Bus) {
  return openTransport(
    loadSettings(eventsSettings, {
      EVENT_BUS: kind,
      EVENT_BUS_PREFIX: events.prefix,
      ...(natsUrl ? { NATS_URL: natsUrl } : {}),
      ...(kafkaBrokers ? { KAFKA_BROKERS: kafkaBrokers } : {}),
    }),
    events.database.sql,
    createLogger({ level: 'silent' }),
  );
}

/** NATS only: copies published without a message id, so JetStream keeps them (a true redelivery). */
async function publishNatsCopies(prefix: string, logged: readonly Logged[]): Promise<void> {
  const url = new URL(natsUrl!);
  const connection = await connect({ servers: `${url.hostname}:${url.port || '4222'}` });
  try {
    const client = jetstream(connection);
    for (const event of logged) {
      const messageHeaders = headers();
      messageHeaders.set('payflow-aggregate-id', event.aggregate_id);
      messageHeaders.set('payflow-merchant-id', event.merchant_id);
      await client.publish(`${prefix}.events.${event.type}`, messageBody(event), { headers: messageHeaders });
    }
  } finally {
    await connection.close();
  }
}

function assertPerAggregateOrder(rows: readonly { aggregate_id: string; sequence: number }[]): void {
  const last = new Map<string, number>();
  for (const row of rows) {
    const previous = last.get(row.aggregate_id) ?? 0;
    assert.ok(row.sequence > previous, `${row.aggregate_id}: ${row.sequence} handled after ${previous}`);
    last.set(row.aggregate_id, row.sequence);
  }
}

async function countOf(sql: Sql, group: string): Promise<number> {
  const [row] = await sql<{ count: bigint }[]>`
    select count(*)::bigint as count from public.effects where consumer_group = ${group}`;
  return Number(row!.count);
}

for (const transport of transports) {
  describe(`event bus contract: ${transport.kind}`, { skip: transport.skip }, () => {
    test('every group handles every event once, each payment’s events in order; a type filter holds', async () => {
      const events = await bus(transport.kind);
      await events.start({ ledger: {}, mail: { types: ['payment.refunded.v1'] } });
      const aggregates = [newId('pay'), newId('pay'), newId('pay')];
      const staged: string[] = [];
      for (let sequence = 1; sequence <= 6; sequence += 1) {
        for (const aggregate of aggregates) {
          const type = sequence === 6 ? 'payment.refunded.v1' : 'payment.captured.v1';
          staged.push(await events.stage(aggregate, sequence, type));
        }
      }
      await events.settle(
        async () =>
          (await countOf(events.database.sql, 'ledger')) >= 18 &&
          (await countOf(events.database.sql, 'mail')) >= 3,
        'all 18 events handled by ledger and 3 refunds by mail',
      );
      const ledger = await events.effects('ledger');
      assert.deepEqual(ledger.map((row) => row.event_id).sort(), [...staged].sort());
      assertPerAggregateOrder(ledger);
      const mail = await events.effects('mail');
      assert.deepEqual(
        mail.map((row) => row.sequence),
        [6, 6, 6],
      );
      if (transport.kind === 'nats') assert.equal(await brokerMessages(transport.kind, events.prefix), 18);
    });

    test('a batch published again (a relay whose commit failed) has no second effect', async () => {
      const events = await bus(transport.kind);
      await events.start({ ledger: {} });
      const aggregate = newId('pay');
      for (let sequence = 1; sequence <= 5; sequence += 1) await events.stage(aggregate, sequence);
      await events.settle(async () => (await countOf(events.database.sql, 'ledger')) >= 5, '5 handled');
      const logged = await loggedEvents(events.database.sql);
      const again = await secondTransport(transport.kind, events);
      try {
        await again.publish(logged);
      } finally {
        await again.close();
      }
      if (transport.kind === 'nats') {
        // JetStream drops the copies (same Nats-Msg-Id inside the duplicate window)…
        assert.equal(await brokerMessages(transport.kind, events.prefix), 5);
        // …so the inbox is tested with copies that carry no message id.
        await publishNatsCopies(events.prefix, logged);
        assert.equal(await brokerMessages(transport.kind, events.prefix), 10);
      }
      // A redelivery from the start of the log (postgres) or of the broker's copies.
      await events.database.sql`update events.consumer_offsets set position = 0`;
      await events.stage(aggregate, 6);
      await events.settle(async () => (await countOf(events.database.sql, 'ledger')) >= 6, 'the 6th handled');
      await new Promise((resolve) => setTimeout(resolve, 300));
      await events.settle(async () => true, 'one more round');
      const ledger = await events.effects('ledger');
      assert.deepEqual(
        ledger.map((row) => row.sequence),
        [1, 2, 3, 4, 5, 6],
      );
    });

    test('a payment’s events keep their order when the broker delivers a later one first', async () => {
      const events = await bus(transport.kind);
      await events.start({ ledger: {} });
      const aggregate = newId('pay');
      const first = await events.stage(aggregate, 1);
      await events.stage(aggregate, 2);
      // Both reach the log; the broker carries only the second for now (a redelivery still to come).
      const relay = await secondTransport(transport.kind, events);
      try {
        await relayAll(events.database.sql, undefined, {
          publish: (rows) => relay.publish(rows.filter((row) => row.event_id !== first)),
        });
        for (let round = 0; round < 5; round += 1) {
          await events.settle(async () => true, 'a round');
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        if (transport.kind !== 'postgres') {
          assert.deepEqual(
            (await events.effects('ledger')).map((row) => row.sequence),
            [],
            'the later event was handled before the earlier one arrived',
          );
        }
        await relay.publish(
          (await loggedEvents(events.database.sql)).filter((row) => row.event_id === first),
        );
      } finally {
        await relay.close();
      }
      await events.settle(async () => (await countOf(events.database.sql, 'ledger')) >= 2, 'both handled');
      assert.deepEqual(
        (await events.effects('ledger')).map((row) => row.sequence),
        [1, 2],
      );
    });

    test('a failing handler is retried with backoff; that payment’s later events wait, others flow', async () => {
      const events = await bus(transport.kind);
      const slow = newId('pay');
      const other = newId('pay');
      let failuresLeft = 2;
      await events.start({
        ledger: {
          handler: async (event, { aggregateId }) => {
            if (aggregateId === slow && event.payload['sequence'] === 1 && failuresLeft > 0) {
              failuresLeft -= 1;
              throw new Error('downstream unavailable');
            }
          },
        },
      });
      await events.stage(slow, 1);
      await events.stage(slow, 2);
      await events.stage(other, 1);
      await events.stage(other, 2);
      await events.settle(async () => (await countOf(events.database.sql, 'ledger')) >= 4, 'all 4 handled');
      const ledger = await events.effects('ledger');
      assertPerAggregateOrder(ledger);
      assert.equal(failuresLeft, 0);
      // The other payment did not wait for the failing one.
      const firstSlow = ledger.findIndex((row) => row.aggregate_id === slow);
      const firstOther = ledger.findIndex((row) => row.aggregate_id === other);
      assert.ok(firstOther < firstSlow, 'the other payment’s events waited behind a failing payment');
    });

    test('a poison event is dead-lettered after N attempts while others flow; replay delivers it once', async () => {
      const events = await bus(transport.kind);
      const poisoned = newId('pay');
      let fixed = false;
      const handler: EventHandler = async (event, { aggregateId }) => {
        if (!fixed && aggregateId === poisoned) throw new Error(`cannot handle ${event.eventId}`);
      };
      await events.start({ ledger: { handler } });
      const poisonId = await events.stage(poisoned, 1);
      const healthy = newId('pay');
      for (let sequence = 1; sequence <= 3; sequence += 1) await events.stage(healthy, sequence);
      await events.settle(async () => {
        const dead = await listDeadLetters(events.database.sql);
        return dead.length === 1 && (await countOf(events.database.sql, 'ledger')) >= 3;
      }, 'one dead letter and the 3 healthy events handled');
      const [dead] = await listDeadLetters(events.database.sql);
      assert.equal(dead!.eventId, poisonId);
      assert.equal(dead!.attempts, 3);
      assert.equal(dead!.topic, 'payment.events.dlq');
      assert.match(dead!.error, /cannot handle/);
      if (transport.kind !== 'postgres') {
        // The broker's dead-letter subject/topic gets a copy (`<prefix>.payment.events.dlq`).
        await events.settle(
          async () => ((await brokerDeadLetters(transport.kind, events.prefix)) ?? []).length > 0,
          'the dead letter copied to the broker',
        );
        assert.deepEqual(await brokerDeadLetters(transport.kind, events.prefix), [dead!.id]);
      }
      fixed = true;
      assert.deepEqual(await replayDeadLetters(events.database.sql, 'all'), [dead!.id]);
      await events.settle(
        async () => (await countOf(events.database.sql, 'ledger')) >= 4,
        'the replayed event handled',
      );
      assert.deepEqual(await replayDeadLetters(events.database.sql, 'all'), []);
      const ledger = await events.effects('ledger');
      assert.equal(ledger.filter((row) => row.event_id === poisonId).length, 1);
    });

    test('a consumer that stops and starts again goes on where it was: nothing lost, nothing twice', async () => {
      const events = await bus(transport.kind);
      await events.start({ ledger: {} });
      const aggregate = newId('pay');
      for (let sequence = 1; sequence <= 4; sequence += 1) await events.stage(aggregate, sequence);
      await events.settle(async () => (await countOf(events.database.sql, 'ledger')) >= 4, 'first 4 handled');
      await events.stop();
      for (let sequence = 5; sequence <= 8; sequence += 1) await events.stage(aggregate, sequence);
      await events.start({ ledger: {} });
      await events.settle(async () => (await countOf(events.database.sql, 'ledger')) >= 8, 'all 8 handled');
      const ledger = await events.effects('ledger');
      assert.deepEqual(
        ledger.map((row) => row.sequence),
        [1, 2, 3, 4, 5, 6, 7, 8],
      );
    });
  });
}
