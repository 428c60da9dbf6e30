// A consumer process for test/events-kafka-consumer-crash.test.ts: the events module on Kafka with
// one group, `ledger`, whose handler records each event in public.effects (in the handler's
// transaction) and takes a few milliseconds, so batches are in flight when the test kills it.
// Prints `consumer ready` once its first round ran; runs until killed.
import { eventsModule, type EventsFace } from '../../src/modules/events/index.ts';
import { systemClock } from '../../src/platform/clock.ts';
import { loadConfiguration } from '../../src/apps/configuration.ts';
import { createSql } from '../../src/platform/db/client.ts';
import { createLogger } from '../../src/platform/log.ts';

const configuration = loadConfiguration({
  DATABASE_URL: process.env['DATABASE_URL']!,
  EVENT_BUS: 'kafka',
  KAFKA_BROKERS: process.env['KAFKA_BROKERS']!,
  EVENT_BUS_PREFIX: process.env['EVENT_BUS_PREFIX']!,
  EVENTS_RETRY_BASE_MS: '20',
});
const sql = createSql({ url: configuration.config.databaseUrl!, maxConnections: 3 });
const runtime = await eventsModule.create!(
  { ...configuration, sql, log: createLogger({ level: 'warn' }), clock: systemClock },
  {},
);
(runtime.face as EventsFace).subscribe('ledger', [], async (event, { transaction, aggregateId }) => {
  await new Promise((resolve) => setTimeout(resolve, 15));
  await transaction`
    insert into public.effects (event_id, aggregate_id, sequence, pid)
    values (${event.eventId}, ${aggregateId}, ${Number(event.payload['sequence'])}, ${process.pid})`;
});
const signal = new AbortController().signal;
let announced = false;
for (;;) {
  for (const job of runtime.jobs ?? []) await job.run(signal);
  if (!announced) {
    process.stdout.write('consumer ready\n');
    announced = true;
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
}
