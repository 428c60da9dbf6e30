// Crash recovery: the PayFlow process dies between the acquirer's answer and phase 2
// (PAYFLOW_FAULT_CRASH_AFTER_PROCESSOR), a new process starts, the client retries with the same key.
// One acquirer authorization, one payment, and the answer the first request would have given.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { spawnServer, type SpawnedServer } from './support/server.ts';
import { createMerchantCredentials, fetchToken, type MerchantSession } from './support/identity.ts';
import {
  authorizeBody,
  call,
  paymentsEnv,
  startTestAcquirer,
  tokenize,
  type JsonAnswer,
} from './support/payments.ts';
import type { RunningSimulator } from '../src/simulator/index.ts';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function session(baseUrl: string, database: TestDatabase): Promise<MerchantSession> {
  const credentials = await createMerchantCredentials(database.sql);
  const token = await fetchToken(baseUrl, credentials.clientId, credentials.clientSecret);
  const publishableToken = await fetchToken(baseUrl, credentials.publishableKey, undefined);
  return {
    ...credentials,
    token,
    publishableToken,
    headers: (extra = {}) => ({
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      ...extra,
    }),
  };
}

/** Retries while the dead request's key is still locked (409 in use, with Retry-After). */
async function retryUntilAnswered(send: () => Promise<JsonAnswer>): Promise<JsonAnswer> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const answer = await send();
    if (answer.status !== 409 || answer.body.code !== 'idempotency_key_in_use') return answer;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('the key stayed in use');
}

test('killed between the acquirer answer and phase 2: a retry with the same key gives one payment and the original answer', async () => {
  const database = await createTestDatabase();
  cleanups.push(() => database.drop());
  const acquirer: RunningSimulator = await startTestAcquirer();
  cleanups.push(() => acquirer.close());
  const env = {
    DATABASE_URL: database.url,
    ...paymentsEnv(acquirer.url),
    VAULT_MASTER_KEY: randomBytes(32).toString('hex'),
  };

  const doomed: SpawnedServer = await spawnServer({ ...env, PAYFLOW_FAULT_CRASH_AFTER_PROCESSOR: 'true' });
  cleanups.push(() => doomed.stop());
  const merchant = await session(doomed.baseUrl, database);
  const token = await tokenize(doomed.baseUrl, merchant);
  const key = randomUUID();
  const body = authorizeBody(token, 6100);
  await assert.rejects(
    call(doomed.baseUrl, merchant, 'POST', '/payments/authorize', body, key),
    'the process died mid-request',
  );
  assert.notEqual(await doomed.stop(), 0, 'the process was killed');

  const [stranded] = await database.sql<{ status: string; recovery_point: string }[]>`
    select p.status, k.recovery_point from payments.payments p
    join payments.idempotency_keys k on k.resource_id = p.id
    where k.idempotency_key = ${key}`;
  assert.deepEqual(stranded, { status: 'PENDING', recovery_point: 'phase1_committed' });

  const revived = await spawnServer(env);
  cleanups.push(() => revived.stop());
  const answer = await retryUntilAnswered(() =>
    call(revived.baseUrl, merchant, 'POST', '/payments/authorize', body, key),
  );
  assert.equal(answer.status, 201, answer.text);
  assert.equal(answer.body.status, 'AUTHORIZED');
  assert.equal(answer.body.authorizedAmount, 6100);

  const payments = await database.sql<
    { id: string; processor_reference: string; acquirer_authorization_id: string }[]
  >`
    select id, processor_reference, acquirer_authorization_id from payments.payments
    where merchant_id = ${merchant.merchantId}`;
  assert.equal(payments.length, 1, 'one payment');
  assert.equal(answer.body.paymentId, payments[0]!.id);
  const inquiry = await fetch(
    `${acquirer.url}/v1/operations/${encodeURIComponent(payments[0]!.processor_reference)}`,
  );
  const operation = (await inquiry.json()) as { authorizationId: string; status: string };
  assert.equal(operation.status, 'approved');
  assert.equal(
    operation.authorizationId,
    payments[0]!.acquirer_authorization_id,
    'one acquirer authorization',
  );

  const replay = await call(revived.baseUrl, merchant, 'POST', '/payments/authorize', body, key);
  assert.equal(replay.text, answer.text, 'every later retry gets the same bytes');
  const [journals] = await database.sql<{ n: number }[]>`
    select count(*)::int as n from ledger.journals where payment_id = ${payments[0]!.id}`;
  assert.equal(journals!.n, 1, 'one authorization hold');
});

test('without any retry, the completer finishes a request whose process died, and the key then replays it', async () => {
  const database = await createTestDatabase();
  cleanups.push(() => database.drop());
  const acquirer: RunningSimulator = await startTestAcquirer();
  cleanups.push(() => acquirer.close());
  const env = {
    DATABASE_URL: database.url,
    ...paymentsEnv(acquirer.url),
    VAULT_MASTER_KEY: randomBytes(32).toString('hex'),
  };
  const doomed = await spawnServer({ ...env, PAYFLOW_FAULT_CRASH_AFTER_PROCESSOR: 'true' });
  cleanups.push(() => doomed.stop());
  const merchant = await session(doomed.baseUrl, database);
  const token = await tokenize(doomed.baseUrl, merchant);
  const key = randomUUID();
  const body = authorizeBody(token, 6200, { capture: true });
  await assert.rejects(call(doomed.baseUrl, merchant, 'POST', '/payments/authorize', body, key));
  await doomed.stop();

  const revived = await spawnServer(env);
  cleanups.push(() => revived.stop());
  let status = '';
  for (let attempt = 0; attempt < 300 && status !== 'finished'; attempt += 1) {
    const [row] = await database.sql<{ recovery_point: string }[]>`
      select recovery_point from payments.idempotency_keys where idempotency_key = ${key}`;
    status = row?.recovery_point ?? '';
    if (status !== 'finished') await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(status, 'finished', 'the completer finished the abandoned key');
  const replay = await call(revived.baseUrl, merchant, 'POST', '/payments/authorize', body, key);
  assert.equal(replay.status, 201, replay.text);
  assert.equal(replay.headers.get('idempotent-replayed'), 'true');
  assert.equal(replay.body.status, 'CAPTURED');
  const [count] = await database.sql<{ n: number }[]>`
    select count(*)::int as n from payments.payments where merchant_id = ${merchant.merchantId}`;
  assert.equal(count!.n, 1);
});
