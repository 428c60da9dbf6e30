// Fault test: NATS stops for 30 s while payments flow, then starts again. PayFlow runs with
// EVENT_BUS=nats against a nats-server process of this test's own (so stopping it disturbs no other
// test); the `webhooks` consumer group's side effect (one delivery per event and endpoint) must
// happen once for every event, and a receiver must get every event once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { startTestServer } from './support/server.ts';
import { merchantSession } from './support/identity.ts';
import { authorizeBody, call, paymentsEnv, startTestAcquirer, tokenize } from './support/payments.ts';
import { freePort } from '../src/platform/ports.ts';
import { natsServer } from './support/nats.ts';

const outageMs = Number(process.env['PAYFLOW_TEST_NATS_OUTAGE_MS'] ?? 30_000);

async function startNats(port: number, storeDir: string): Promise<ChildProcess> {
  const child = spawn(natsServer!, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], {
    stdio: 'ignore',
  });
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return child;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error('nats-server did not start listening');
}

async function stopNats(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

test(
  'NATS down for 30 s while payments flow: afterwards every event is delivered, each side effect once',
  { skip: natsServer === undefined ? 'nats-server is not installed: the outage test runs its own' : false },
  async (t) => {
    const storeDir = mkdtempSync(path.join(os.tmpdir(), 'payflow-nats-'));
    const port = await freePort();
    let nats = await startNats(port, storeDir);
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
    const acquirer = await startTestAcquirer();
    const server = await startTestServer({
      env: paymentsEnv(acquirer.url, {
        EVENT_BUS: 'nats',
        NATS_URL: `nats://127.0.0.1:${port}`,
        EVENT_BUS_PREFIX: `o${randomBytes(6).toString('hex')}`,
        EVENTS_POLL_INTERVAL_MS: '100',
        WEBHOOK_ALLOW_PRIVATE: 'true',
        WEBHOOK_POLL_INTERVAL_MS: '50',
      }),
    });
    try {
      const merchant = await merchantSession(server);
      const { port: receiverPort } = receiver.address() as AddressInfo;
      const endpoint = await call(server.baseUrl, merchant, 'POST', '/webhooks/endpoints', {
        url: `http://127.0.0.1:${receiverPort}/hooks`,
        eventTypes: ['payment.authorized.v1', 'payment.captured.v1'],
      });
      assert.equal(endpoint.status, 201, endpoint.text);

      let flowing = true;
      let payments = 0;
      let paymentsDuringOutage = 0;
      let outage = false;
      const flow = (async () => {
        while (flowing) {
          const token = await tokenize(server.baseUrl, merchant);
          const authorized = await call(server.baseUrl, merchant, 'POST', '/payments/authorize', {
            ...authorizeBody(token, 1200),
          });
          assert.equal(authorized.status, 201, authorized.text);
          const captured = await call(
            server.baseUrl,
            merchant,
            'POST',
            `/payments/${authorized.body['paymentId'] as string}/capture`,
            {},
          );
          assert.equal(captured.status, 200, captured.text);
          payments += 1;
          if (outage) paymentsDuringOutage += 1;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      })();

      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await stopNats(nats);
      outage = true;
      await new Promise((resolve) => setTimeout(resolve, outageMs));
      outage = false;
      nats = await startNats(port, storeDir);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      flowing = false;
      await flow;
      assert.ok(paymentsDuringOutage > 0, 'no payment went through while NATS was down');

      const sql = server.database.sql;
      const expected = async () =>
        (
          await sql<{ event_id: string }[]>`
            select event_id from events.outbox
            where type in ('payment.authorized.v1', 'payment.captured.v1') order by staged_sequence`
        ).map((row) => row.event_id);
      const deadline = Date.now() + 90_000;
      let events = await expected();
      while (Date.now() < deadline && [...events].some((eventId) => !received.has(eventId))) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        events = await expected();
      }
      assert.equal(events.length, payments * 2);
      const missing = events.filter((eventId) => !received.has(eventId));
      assert.deepEqual(missing, [], `${missing.length} of ${events.length} events never arrived`);
      const twice = [...received].filter(([, count]) => count !== 1);
      assert.deepEqual(twice, [], 'an event reached the receiver more than once');
      const [deliveries] = await sql<{ count: bigint; distinct_events: bigint }[]>`
        select count(*)::bigint as count, count(distinct event_id)::bigint as distinct_events
        from notifications.webhook_deliveries`;
      assert.equal(Number(deliveries!.count), events.length, 'the consumer’s side effect happened twice');
      assert.equal(Number(deliveries!.distinct_events), events.length);
      const [unpublished] = await sql<{ count: bigint }[]>`
        select count(*)::bigint as count from events.outbox where position is null`;
      assert.equal(Number(unpublished!.count), 0);
      t.diagnostic(
        `${payments} payments (${paymentsDuringOutage} while NATS was down for ${outageMs / 1000} s): ${events.length} events, each delivered once`,
      );
    } finally {
      await server.close();
      await acquirer.close();
      await new Promise<void>((resolve) => {
        receiver.closeAllConnections();
        receiver.close(() => resolve());
      });
      await stopNats(nats);
      rmSync(storeDir, { recursive: true, force: true });
    }
  },
);
