// A consumer process killed mid-batch on Kafka: two processes consume one group (`ledger`) while
// events flow; one is killed with SIGKILL while it handles a batch. Kafka rebalances its partitions
// to the survivor, which starts from the last committed offsets: the batch the killed process had
// not committed is handled again, its effects (rolled back with its transaction, or deduplicated by
// the inbox) end up once, and every payment's events stay in order.
// Kafka: KAFKA_BROKERS (.ci/run starts one); skipped without.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { createTestDatabase } from './support/database.ts';
import { loadConfiguration } from '../src/apps/configuration.ts';
import { createLogger } from '../src/platform/log.ts';
import { systemClock } from '../src/platform/clock.ts';
import { newId } from '../src/platform/ids.ts';
import { eventsModule, type EventsFace } from '../src/modules/events/index.ts';

const kafkaBrokers = process.env['KAFKA_BROKERS']?.trim() || undefined;

test(
  'a consumer process killed with SIGKILL mid-batch: its partitions move to the other, every event handled once, in order',
  {
    skip: kafkaBrokers
      ? false
      : 'KAFKA_BROKERS is unset: start a broker with `npm run kafka:start` (.ci/run does)',
    timeout: 300_000,
  },
  async (t) => {
    const database = await createTestDatabase();
    t.after(() => database.drop());
    await database.sql`
      create table public.effects (
        id bigserial primary key, event_id text not null, aggregate_id text not null,
        sequence integer not null, pid integer not null)`;
    const prefix = `k${randomBytes(6).toString('hex')}`;
    const configuration = loadConfiguration({
      EVENT_BUS: 'kafka',
      KAFKA_BROKERS: kafkaBrokers!,
      EVENT_BUS_PREFIX: prefix,
    });
    const stager = await eventsModule.create!(
      { ...configuration, sql: database.sql, log: createLogger({ level: 'silent' }), clock: systemClock },
      {},
    );
    t.after(() => stager.close?.() ?? Promise.resolve());
    const face = stager.face as EventsFace;

    const children: ChildProcess[] = [];
    t.after(() => {
      for (const child of children)
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const startConsumer = () =>
      new Promise<ChildProcess>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', path.join(import.meta.dirname, 'support/kafka-consumer-child.ts')],
          {
            env: {
              ...process.env,
              DATABASE_URL: database.url,
              KAFKA_BROKERS: kafkaBrokers!,
              EVENT_BUS_PREFIX: prefix,
            },
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        );
        children.push(child);
        createInterface({ input: child.stdout! }).on('line', (line) => {
          if (line === 'consumer ready') resolve(child);
        });
        child.once('exit', (code) => reject(new Error(`consumer exited with ${code}`)));
      });

    const payments = Array.from({ length: 30 }, () => newId('pay'));
    let staged = 0;
    const stageRound = async (rounds: number) => {
      for (let round = 0; round < rounds; round += 1) {
        staged += 1;
        await database.sql.begin(async (transaction) => {
          for (const payment of payments) {
            await face.stage(transaction, {
              type: 'payment.captured.v1',
              aggregateId: payment,
              merchantId: 'mer_crash',
              payload: { paymentId: payment, sequence: staged },
              occurredAt: new Date(),
            });
          }
        });
      }
    };
    await stageRound(3);
    const [first, second] = await Promise.all([startConsumer(), startConsumer()]);
    const count = async () => {
      const [row] = await database.sql<
        { count: bigint }[]
      >`select count(*)::bigint as count from public.effects`;
      return Number(row!.count);
    };
    // Events keep coming while both consume; the first is killed once it has handled some.
    const producing = (async () => {
      for (let batch = 0; batch < 12; batch += 1) {
        await stageRound(1);
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    })();
    const deadline = Date.now() + 90_000;
    for (;;) {
      const [mine] = await database.sql<{ count: bigint }[]>`
        select count(*)::bigint as count from public.effects where pid = ${first!.pid!}`;
      if (Number(mine!.count) >= 20) break;
      assert.ok(Date.now() < deadline, 'the first consumer never handled anything');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    first!.kill('SIGKILL');
    await producing;
    const total = staged * payments.length;
    const drained = Date.now() + 150_000;
    while ((await count()) < total) {
      assert.ok(Date.now() < drained, `only ${await count()} of ${total} events handled after the kill`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const rows = await database.sql<
      { event_id: string; aggregate_id: string; sequence: number; pid: number }[]
    >`
      select event_id, aggregate_id, sequence, pid from public.effects order by id`;
    assert.equal(rows.length, total, 'an event was handled twice');
    assert.equal(new Set(rows.map((row) => row.event_id)).size, total);
    const last = new Map<string, number>();
    for (const row of rows) {
      assert.ok(row.sequence > (last.get(row.aggregate_id) ?? 0), `${row.aggregate_id} out of order`);
      last.set(row.aggregate_id, row.sequence);
    }
    // The survivor stops before the database is dropped under it.
    const exited = new Promise((resolve) => second!.once('exit', resolve));
    second!.kill('SIGTERM');
    await exited;
    const bySurvivor = rows.filter((row) => row.pid === second!.pid).length;
    assert.ok(bySurvivor > 0, 'the survivor handled nothing');
    t.diagnostic(
      `${total} events: ${rows.length - bySurvivor} by the killed consumer, ${bySurvivor} by the survivor, each once, in order`,
    );
  },
);
