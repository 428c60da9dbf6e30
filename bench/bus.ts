// `npm run bench:bus -- --bus postgres|nats|kafka [--events 5000] [--payments 100]`: events per
// second from the outbox to a consumer group on one bus transport. N events (spread over P
// payments, so per-payment order matters) are staged in the outbox first; the clock then runs while
// the events module's own relay and consumer jobs carry them to a group whose handler does nothing
// but the inbox row (the same transaction every real handler gets). Needs TEST_DATABASE_URL (an
// admin URL: a scratch database is created and dropped), NATS_URL for nats, KAFKA_BROKERS for kafka.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { moduleMigrations } from '../src/apps/platform.ts';
import { eventsModule, type EventsFace } from '../src/modules/events/index.ts';
import { systemClock } from '../src/platform/clock.ts';
import { loadConfiguration } from '../src/apps/configuration.ts';
import { createSql } from '../src/platform/db/client.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { newId } from '../src/platform/ids.ts';
import { createLogger } from '../src/platform/log.ts';

const { values } = parseArgs({
  options: {
    bus: { type: 'string', default: 'postgres' },
    events: { type: 'string', default: '5000' },
    payments: { type: 'string', default: '100' },
  },
});
const bus = values.bus as 'postgres' | 'nats' | 'kafka';
const total = Number(values.events);
const paymentCount = Number(values.payments);
const adminUrl = process.env['TEST_DATABASE_URL'] ?? process.env['DATABASE_URL'];
if (!adminUrl) throw new Error('set TEST_DATABASE_URL (a PostgreSQL admin URL) for the scratch database');

const name = `payflow_bench_bus_${randomBytes(4).toString('hex')}`;
const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
await admin.unsafe(`create database "${name}"`);
const url = new URL(adminUrl);
url.pathname = `/${name}`;
const sql = createSql({ url: url.toString(), maxConnections: 6 });
try {
  await migrate(sql, moduleMigrations());
  const configuration = loadConfiguration({
    DATABASE_URL: url.toString(),
    EVENT_BUS: bus,
    EVENT_BUS_PREFIX: `b${randomBytes(5).toString('hex')}`,
    ...(process.env['NATS_URL'] ? { NATS_URL: process.env['NATS_URL'] } : {}),
    ...(process.env['KAFKA_BROKERS'] ? { KAFKA_BROKERS: process.env['KAFKA_BROKERS'] } : {}),
  });
  const context = { ...configuration, sql, log: createLogger({ level: 'silent' }), clock: systemClock };
  const runtime = await eventsModule.create!(context, {});
  const face = runtime.face as EventsFace;
  let handled = 0;
  face.subscribe('bench', [], async () => {
    handled += 1;
  });
  const payments = Array.from({ length: paymentCount }, () => newId('pay'));
  for (let staged = 0; staged < total; staged += 100) {
    await sql.begin(async (transaction) => {
      for (let index = staged; index < Math.min(total, staged + 100); index += 1) {
        await face.stage(transaction, {
          type: 'payment.captured.v1',
          aggregateId: payments[index % paymentCount]!,
          merchantId: 'mer_bench',
          payload: { sequence: index, amount: 100 },
          occurredAt: new Date(),
        });
      }
    });
  }
  const controller = new AbortController();
  const started = performance.now();
  const deadline = Date.now() + 600_000;
  while (handled < total && Date.now() < deadline) {
    for (const job of runtime.jobs ?? []) await job.run(controller.signal);
    if (handled < total) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const seconds = (performance.now() - started) / 1000;
  controller.abort();
  await runtime.close?.();
  const [inbox] = await sql<{ count: bigint }[]>`select count(*)::bigint as count from events.inbox`;
  const result = {
    bus,
    events: total,
    payments: paymentCount,
    handledOnce: Number(inbox!.count),
    seconds: Math.round(seconds * 100) / 100,
    eventsPerSecond: Math.round(total / seconds),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  if (Number(inbox!.count) !== total) process.exitCode = 1;
} finally {
  await sql.end({ timeout: 5 });
  await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.end();
}
