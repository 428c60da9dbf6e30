// The relay as the worker runs it: with polling set to ten minutes, only LISTEN/NOTIFY can publish a
// freshly committed event within the test's deadline.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './support/server.ts';
import { newId } from '../src/platform/ids.ts';
import { loadConfiguration } from '../src/apps/configuration.ts';
import { createLogger } from '../src/platform/log.ts';
import { systemClock } from '../src/platform/clock.ts';
import { eventsModule, type EventsFace } from '../src/modules/events/index.ts';

let server: TestServer;
let events: EventsFace;

before(async () => {
  server = await startTestServer({ role: 'worker', env: { EVENTS_POLL_INTERVAL_MS: '600000' } });
  const context = {
    ...loadConfiguration({}),
    sql: server.database.sql,
    log: createLogger({ level: 'silent' }),
    clock: systemClock,
  };
  events = (await eventsModule.create!(context, {})).face as EventsFace;
});
after(async () => {
  await server.close();
});

/** Waits until `check` holds; the deadline only bounds a failing test, it measures nothing. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

test('the worker’s relay is woken by NOTIFY when an outbox row commits', async () => {
  for (let round = 1; round <= 3; round += 1) {
    const aggregateId = newId('pay');
    const { eventId } = await server.database.sql.begin((transaction) =>
      events.stage(transaction, {
        type: 'payment.authorized.v1',
        aggregateId,
        merchantId: 'mer_test',
        payload: { round },
        occurredAt: new Date(),
      }),
    );
    await eventually(async () => {
      const [row] = await server.database.sql<{ position: bigint | null }[]>`
        select position from events.outbox where event_id = ${eventId}`;
      return row?.position !== null && row?.position !== undefined;
    }, `event ${round} published`);
    const [logged] = await server.database.sql<{ position: bigint }[]>`
      select position from events.log where event_id = ${eventId}`;
    assert.equal(logged!.position, BigInt(round));
  }
});
