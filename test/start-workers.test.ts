// `payflow start --role api --workers 2`: the API process starts two worker processes on the same
// database, which run the jobs (a payment's webhook is delivered although the API runs none); a
// worker killed with SIGKILL is started again; stopping the API process stops its workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createTestDatabase } from './support/database.ts';
import { createMerchantCredentials, merchantSessionAt } from './support/identity.ts';
import { authorizeBody, call, paymentsEnv, startTestAcquirer, tokenize } from './support/payments.ts';
import { startPayflowProcess } from './support/processes.ts';
import { runCli } from './support/server.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, holds: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!holds()) {
    assert.ok(Date.now() < deadline, what);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('--workers needs DATABASE_URL and a number', async () => {
  const embedded = await runCli(['start', '--workers', '2'], { DATABASE_URL: '' });
  assert.notEqual(embedded.code, 0);
  assert.match(embedded.stderr, /--workers needs DATABASE_URL/);
  const wrong = await runCli(['start', '--workers', 'many']);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /--workers must be a number/);
});

test('payflow start --role api --workers 2: two worker processes run the jobs, one killed is restarted, all stop with the API', async (t) => {
  const database = await createTestDatabase();
  t.after(() => database.drop());
  const acquirer = await startTestAcquirer();
  t.after(() => acquirer.close());
  let webhooks = 0;
  const receiver = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      webhooks += 1;
      response.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

  const api = startPayflowProcess(
    'api',
    paymentsEnv(acquirer.url, {
      DATABASE_URL: database.url,
      VAULT_MASTER_KEY: randomBytes(32).toString('hex'),
      EVENTS_POLL_INTERVAL_MS: '100',
      WEBHOOK_POLL_INTERVAL_MS: '100',
      WEBHOOK_ALLOW_PRIVATE: 'true',
    }),
    ['--workers', '2'],
  );
  t.after(() => api.stop('SIGKILL'));
  const baseUrl = await api.ready;
  const workerPids = () =>
    api.output.flatMap((line) => {
      const match = /"workerPid":(\d+).*"msg":"worker process started"/.exec(line);
      return match ? [Number(match[1])] : [];
    });
  const running = () => api.output.filter((line) => line.includes('"msg":"PayFlow jobs are running"')).length;
  await until('two workers did not start', () => workerPids().length === 2 && running() === 2);

  const merchant = await merchantSessionAt(baseUrl, await createMerchantCredentials(database.sql));
  const endpoint = await call(baseUrl, merchant, 'POST', '/webhooks/endpoints', {
    url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`,
    eventTypes: ['payment.authorized.v1'],
  });
  assert.equal(endpoint.status, 201, endpoint.text);
  const token = await tokenize(baseUrl, merchant);
  const authorized = await call(baseUrl, merchant, 'POST', '/payments/authorize', authorizeBody(token));
  assert.equal(authorized.status, 201, authorized.text);
  await until('the workers did not deliver the webhook', () => webhooks === 1);

  const [first] = workerPids();
  process.kill(first!, 'SIGKILL');
  await until('the killed worker was not started again', () => workerPids().length === 3 && running() === 3);
  const pids = workerPids();
  await api.stop('SIGTERM');
  for (const pid of pids) assert.equal(alive(pid), false, `worker ${pid} outlived the API process`);
});
