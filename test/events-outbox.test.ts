// Staging events in the outbox against real PostgreSQL: the row commits or rolls back with the
// caller's transaction, and what is stored is the JSON envelope, never card data.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { eventsModule, type EventsFace } from '../src/modules/events/index.ts';
import { loadConfiguration } from '../src/apps/configuration.ts';
import { createLogger } from '../src/platform/log.ts';
import { systemClock } from '../src/platform/clock.ts';
import { isId, newId } from '../src/platform/ids.ts';

let database: TestDatabase;
let events: EventsFace;

before(async () => {
  database = await createTestDatabase();
  const context = {
    ...loadConfiguration({}),
    sql: database.sql,
    log: createLogger({ level: 'silent' }),
    clock: systemClock,
  };
  events = (await eventsModule.create!(context, {})).face as EventsFace;
});
after(async () => {
  await database.drop();
});

type OutboxRow = {
  event_id: string;
  type: string;
  aggregate_id: string;
  merchant_id: string;
  payload: Record<string, unknown>;
  occurred_at: Date;
  position: bigint | null;
  published_at: Date | null;
};

const outboxRows = async (aggregateId: string) => [
  ...(await database.sql<OutboxRow[]>`
  select event_id, type, aggregate_id, merchant_id, payload, occurred_at, position, published_at
  from events.outbox where aggregate_id = ${aggregateId} order by staged_sequence`),
];

test('a staged event commits with the transaction, amounts as JSON integers, not yet published', async () => {
  const paymentId = newId('pay');
  const merchantId = newId('mer');
  const occurredAt = new Date('2026-02-07T15:04:05.123Z');
  const { eventId } = await database.sql.begin((transaction) =>
    events.stage(transaction, {
      type: 'payment.captured.v1',
      aggregateId: paymentId,
      merchantId,
      payload: { paymentId, amount: 1000n, currency: 'USD', capturedAt: occurredAt },
      occurredAt,
    }),
  );
  assert.ok(isId('evt', eventId), eventId);
  const rows = await outboxRows(paymentId);
  assert.equal(rows.length, 1);
  const row = rows[0]!;
  assert.deepEqual(
    { ...row },
    {
      event_id: eventId,
      type: 'payment.captured.v1',
      aggregate_id: paymentId,
      merchant_id: merchantId,
      payload: { paymentId, amount: 1000, currency: 'USD', capturedAt: '2026-02-07T15:04:05.123Z' },
      occurred_at: occurredAt,
      position: null,
      published_at: null,
    },
  );
});

test('a staged event rolls back with the transaction', async () => {
  const paymentId = newId('pay');
  await assert.rejects(
    database.sql.begin(async (transaction) => {
      await events.stage(transaction, {
        type: 'payment.authorized.v1',
        aggregateId: paymentId,
        merchantId: newId('mer'),
        payload: { amount: 5n },
        occurredAt: new Date(),
      });
      throw new Error('the state change failed');
    }),
    /the state change failed/,
  );
  assert.deepEqual(await outboxRows(paymentId), []);
});

test('card data, unversioned types and non-JSON payloads are refused before anything is written', async () => {
  const paymentId = newId('pay');
  const attempts: [Record<string, unknown>, string, RegExp][] = [
    [{ card: { number: '4242424242424242' } }, 'payment.authorized.v1', /card data/],
    [{ cvc: '123' }, 'payment.authorized.v1', /card data/],
    [{ pan: '4242424242424242' }, 'payment.authorized.v1', /card data/],
    [{ amount: 1n }, 'payment.authorized', /not <aggregate>\.<event>\.v<N>/],
    [{ amount: 2n ** 62n }, 'payment.authorized.v1', /not one operation's amount/],
  ];
  for (const [payload, type, message] of attempts) {
    await assert.rejects(
      database.sql.begin((transaction) =>
        events.stage(transaction, {
          type,
          aggregateId: paymentId,
          merchantId: newId('mer'),
          payload,
          occurredAt: new Date(),
        }),
      ),
      { name: 'AssertionError', message },
    );
  }
  assert.deepEqual(await outboxRows(paymentId), []);
});

test('the database refuses rows that break the outbox rules, whoever writes them', async () => {
  const insert = (eventId: string, type: string, payload: unknown) => database.sql`
    insert into events.outbox (event_id, type, aggregate_id, merchant_id, payload, occurred_at)
    values (${eventId}, ${type}, 'pay_x', 'mer_x', ${database.sql.json(payload as never)}, now())`;
  await assert.rejects(insert('not-an-id', 'payment.captured.v1', {}), /outbox_event_id_check/);
  await assert.rejects(insert(newId('evt'), 'payment.captured', {}), /outbox_type_check/);
  await assert.rejects(insert(newId('evt'), 'payment.captured.v1', [1, 2]), /outbox_payload_check/);
  await assert.rejects(
    database.sql`
      insert into events.outbox (event_id, type, aggregate_id, merchant_id, payload, occurred_at, position)
      values (${newId('evt')}, 'payment.captured.v1', 'pay_x', 'mer_x', '{}', now(), 1)`,
    /outbox_published_has_position/,
  );
});
