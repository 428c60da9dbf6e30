// payflow-test: run-alone (scripts/test.ts runs it after the other files, on its own)
// PayFlow as many processes on one PostgreSQL and one Kafka: three `--role api` processes and two
// `--role worker` processes. Payments flow through all three APIs, some of them raced (the same
// idempotency key sent to two APIs at once; two captures of one payment through two APIs), while
// one API process and one worker are killed with SIGKILL mid-run. Afterwards the ledger verifies,
// every raced operation happened once, and every event reached a webhook receiver exactly once (the
// killed worker's consumer group partitions were taken over by the other worker).
// Kafka: KAFKA_BROKERS (.ci/run starts one), else a broker of this test's own, else skipped.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { brokersOf, kafkaUnavailable, startKafka, stopKafka } from '../scripts/kafka.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { createMerchantCredentials, merchantSessionAt, type MerchantSession } from './support/identity.ts';
import {
  assertLedgerVerifies,
  authorizeBody,
  call,
  paymentsEnv,
  startTestAcquirer,
  tokenize,
} from './support/payments.ts';
import { startPayflowProcess, type PayflowProcess } from './support/processes.ts';

const configuredBrokers = process.env['KAFKA_BROKERS']?.trim() || undefined;
const unavailable = configuredBrokers ? undefined : kafkaUnavailable();
let brokers = configuredBrokers;
let ownKafkaDir: string | undefined;

before(async () => {
  if (brokers || unavailable) return;
  ownKafkaDir = mkdtempSync(path.join(os.tmpdir(), 'payflow-kafka-processes-'));
  brokers = brokersOf(await startKafka({ dir: ownKafkaDir }));
});
after(async () => {
  if (!ownKafkaDir) return;
  await stopKafka(ownKafkaDir, 5_000);
  rmSync(ownKafkaDir, { recursive: true, force: true });
});

/** A call that may hit a killed process: undefined instead of a thrown fetch error. */
async function tryCall(
  ...args: Parameters<typeof call>
): Promise<Awaited<ReturnType<typeof call>> | undefined> {
  try {
    return await call(...args);
  } catch {
    return undefined;
  }
}

test(
  'three API processes and two workers on Kafka, one of each killed mid-run: ledger verifies, raced operations happen once, every event delivered once',
  { skip: unavailable ?? false, timeout: 420_000 },
  async (t) => {
    const database: TestDatabase = await createTestDatabase();
    t.after(() => database.drop());
    const acquirer = await startTestAcquirer();
    t.after(() => acquirer.close());
    const received = new Map<string, number>();
    const receiver = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const { eventId } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { eventId: string };
        received.set(eventId, (received.get(eventId) ?? 0) + 1);
        response.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    t.after(
      () =>
        new Promise<void>((resolve) => {
          receiver.closeAllConnections();
          receiver.close(() => resolve());
        }),
    );

    const env = paymentsEnv(acquirer.url, {
      DATABASE_URL: database.url,
      VAULT_MASTER_KEY: randomBytes(32).toString('hex'),
      EVENT_BUS: 'kafka',
      KAFKA_BROKERS: brokers!,
      EVENT_BUS_PREFIX: `m${randomBytes(6).toString('hex')}`,
      EVENTS_POLL_INTERVAL_MS: '100',
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_POLL_INTERVAL_MS: '100',
      LOG_LEVEL: 'warn',
    });
    const processes: PayflowProcess[] = [];
    t.after(async () => {
      for (const process of processes) await process.stop('SIGKILL');
    });
    // The first API process applies the migrations alone; the others start on a migrated database.
    const first = startPayflowProcess('api', { ...env, LOG_LEVEL: 'info' });
    processes.push(first);
    const apis = [await first.ready];
    const others = [
      startPayflowProcess('api', { ...env, LOG_LEVEL: 'info' }),
      startPayflowProcess('api', { ...env, LOG_LEVEL: 'info' }),
    ];
    processes.push(...others);
    apis.push(...(await Promise.all(others.map((process) => process.ready))));
    const workers = [
      startPayflowProcess('worker', { ...env, LOG_LEVEL: 'info' }),
      startPayflowProcess('worker', { ...env, LOG_LEVEL: 'info' }),
    ];
    processes.push(...workers);
    await Promise.all(workers.map((process) => process.ready));

    const credentials = await createMerchantCredentials(database.sql);
    const merchant: MerchantSession = await merchantSessionAt(apis[0]!, credentials);
    const endpoint = await call(apis[0]!, merchant, 'POST', '/webhooks/endpoints', {
      url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`,
      eventTypes: ['payment.authorized.v1', 'payment.captured.v1'],
    });
    assert.equal(endpoint.status, 201, endpoint.text);

    const alive = [true, true, true];
    const racedKeys: { key: string; paymentIds: Set<string> }[] = [];
    const racedCaptures: number[][] = [];
    let flowing = true;
    let iterations = 0;
    const client = async (index: number) => {
      while (flowing) {
        const live = apis.filter((_url, at) => alive[at]);
        const api = live[(index + iterations) % live.length]!;
        const other = live[(index + iterations + 1) % live.length]!;
        iterations += 1;
        let token: string;
        try {
          token = await tokenize(api, merchant);
        } catch {
          continue; // the API process died under this request
        }
        // The same idempotency key through two API processes at once: one payment.
        const key = randomUUID();
        const answers = await Promise.all([
          tryCall(api, merchant, 'POST', '/payments/authorize', authorizeBody(token, 700), key),
          tryCall(other, merchant, 'POST', '/payments/authorize', authorizeBody(token, 700), key),
        ]);
        const ids = new Set(
          answers.flatMap((answer) =>
            answer && (answer.status === 201 || answer.status === 200)
              ? [answer.body['paymentId'] as string]
              : [],
          ),
        );
        racedKeys.push({ key, paymentIds: ids });
        const paymentId = [...ids][0];
        if (paymentId === undefined) continue;
        // Two full captures of it through two API processes at once: exactly one passes.
        const captures = await Promise.all([
          tryCall(api, merchant, 'POST', `/payments/${paymentId}/capture`, {}),
          tryCall(other, merchant, 'POST', `/payments/${paymentId}/capture`, {}),
        ]);
        if (captures.every((answer) => answer !== undefined))
          racedCaptures.push(captures.map((answer) => answer!.status));
      }
    };
    const clients = [client(0), client(1)];
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    // Kill one API process and one worker mid-run.
    alive[2] = false;
    await processes[2]!.stop('SIGKILL');
    await workers[1]!.stop('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 8_000));
    flowing = false;
    await Promise.all(clients);

    assert.ok(racedKeys.length >= 4, `only ${racedKeys.length} payments were made`);
    for (const raced of racedKeys)
      assert.ok(raced.paymentIds.size <= 1, `key ${raced.key} made ${raced.paymentIds.size} payments`);
    assert.ok(racedCaptures.length >= 2, 'too few raced captures completed');
    for (const statuses of racedCaptures) {
      assert.equal(
        statuses.filter((status) => status === 200).length,
        1,
        `two captures of one payment answered ${statuses.join(' and ')}`,
      );
    }

    // Every event reaches the receiver once, through the surviving worker.
    const sql = database.sql;
    const expected = async () =>
      (
        await sql<{ event_id: string }[]>`
          select event_id from events.outbox
          where type in ('payment.authorized.v1', 'payment.captured.v1') order by staged_sequence`
      ).map((row) => row.event_id);
    const deadline = Date.now() + 180_000;
    let events = await expected();
    while (Date.now() < deadline && events.some((eventId) => !received.has(eventId))) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      events = await expected();
    }
    const missing = events.filter((eventId) => !received.has(eventId));
    assert.deepEqual(missing, [], `${missing.length} of ${events.length} events never arrived`);
    const twice = [...received].filter(([, count]) => count !== 1);
    assert.deepEqual(twice, [], 'an event reached the receiver more than once');
    const [deliveries] = await sql<{ count: bigint; distinct_events: bigint }[]>`
      select count(*)::bigint as count, count(distinct event_id)::bigint as distinct_events
      from notifications.webhook_deliveries`;
    assert.equal(Number(deliveries!.count), events.length, 'a webhook delivery was made twice');
    assert.equal(Number(deliveries!.distinct_events), events.length);
    const [doubled] = await sql<{ count: bigint }[]>`
      select count(*)::bigint as count from (
        select payment_id from ledger.journals where kind = 'capture'
        group by payment_id having count(*) > 1) twice`;
    assert.equal(Number(doubled!.count), 0, 'a payment was captured twice in the ledger');
    for (const process of processes) await process.stop();
    await assertLedgerVerifies(database.url);
    t.diagnostic(
      `${racedKeys.length} raced authorizations, ${racedCaptures.length} raced captures, ${events.length} events delivered once`,
    );
  },
);
