// Concurrency across processes: two PayFlow processes on one database race on one payment. Row locks
// and guarded updates, never process memory, decide who wins.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { runCli, spawnServer, type SpawnedServer } from './support/server.ts';
import { createMerchantCredentials, fetchToken, type MerchantSession } from './support/identity.ts';
import { authorizeBody, call, paymentsEnv, startTestAcquirer, tokenize } from './support/payments.ts';
import type { RunningSimulator } from '../src/simulator/index.ts';

let database: TestDatabase;
let acquirer: RunningSimulator;
let servers: SpawnedServer[] = [];
let merchant: MerchantSession;

before(async () => {
  database = await createTestDatabase();
  acquirer = await startTestAcquirer();
  const env = {
    DATABASE_URL: database.url,
    ...paymentsEnv(acquirer.url),
    // Enough connections for real contention in PostgreSQL; the suite shares max_connections=100.
    DATABASE_POOL_MAX: '8',
  };
  // Both processes must share the vault keyring, as every process of one deployment does.
  const shared = { ...env, VAULT_MASTER_KEY: randomBytes(32).toString('hex') };
  servers = [await spawnServer(shared)];
  servers.push(await spawnServer(shared));
  const credentials = await createMerchantCredentials(database.sql);
  const baseUrl = servers[0]!.baseUrl;
  const token = await fetchToken(baseUrl, credentials.clientId, credentials.clientSecret);
  const publishableToken = await fetchToken(baseUrl, credentials.publishableKey, undefined);
  merchant = {
    ...credentials,
    token,
    publishableToken,
    headers: (extra = {}) => ({
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      ...extra,
    }),
  };
});
after(async () => {
  for (const server of servers) await server.stop();
  await acquirer.close();
  await database.drop();
});

function serverFor(index: number): string {
  return servers[index % servers.length]!.baseUrl;
}

async function authorized(amount: number, capture = false): Promise<string> {
  const token = await tokenize(serverFor(0), merchant);
  const answer = await call(
    serverFor(0),
    merchant,
    'POST',
    '/payments/authorize',
    authorizeBody(token, amount, { capture }),
  );
  assert.equal(answer.status, 201, answer.text);
  return answer.body.paymentId as string;
}

async function assertLedgerVerifies(): Promise<void> {
  const result = await runCli(['ledger', 'verify'], { DATABASE_URL: database.url });
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
}

test('50 concurrent captures of one authorization on two processes: exactly one succeeds, the rest 409', async () => {
  const paymentId = await authorized(1000);
  const answers = await Promise.all(
    Array.from({ length: 50 }, (_, index) =>
      call(serverFor(index), merchant, 'POST', `/payments/${paymentId}/capture`, { amount: 1000 }),
    ),
  );
  const statuses = answers.map((answer) => answer.status);
  assert.equal(statuses.filter((status) => status === 200).length, 1, statuses.join(','));
  assert.equal(statuses.filter((status) => status === 409).length, 49, statuses.join(','));
  for (const answer of answers.filter((item) => item.status === 409)) {
    assert.ok(
      ['already_captured', 'payment_operation_in_progress'].includes(answer.body.code as string),
      answer.text,
    );
  }
  const [row] = await database.sql<{ status: string; captured_amount: bigint }[]>`
    select status, captured_amount from payments.payments where id = ${paymentId}`;
  assert.deepEqual(row, { status: 'CAPTURED', captured_amount: 1000n });
  const [journals] = await database.sql<{ n: number }[]>`
    select count(*)::int as n from ledger.journals where payment_id = ${paymentId} and kind = 'capture'`;
  assert.equal(journals!.n, 1, 'one capture journal');
  await assertLedgerVerifies();
});

test('50 concurrent refunds of 30 % each on two processes: exactly three succeed', async () => {
  const paymentId = await authorized(1000, true);
  const answers = await Promise.all(
    Array.from({ length: 50 }, (_, index) =>
      call(serverFor(index), merchant, 'POST', `/payments/${paymentId}/refund`, { amount: 300 }),
    ),
  );
  const statuses = answers.map((answer) => answer.status);
  assert.equal(statuses.filter((status) => status === 200).length, 3, statuses.join(','));
  assert.equal(statuses.filter((status) => status === 409).length, 47, statuses.join(','));
  const [row] = await database.sql<{ status: string; refunded_amount: bigint; refunding_amount: bigint }[]>`
    select status, refunded_amount, refunding_amount from payments.payments where id = ${paymentId}`;
  assert.deepEqual(row, { status: 'PARTIALLY_REFUNDED', refunded_amount: 900n, refunding_amount: 0n });
  const payment = await call(serverFor(1), merchant, 'GET', `/payments/${paymentId}`);
  assert.equal(payment.body.ledgerBalance, 100);
  await assertLedgerVerifies();
});

test('20 concurrent authorizations with one idempotency key: one payment, every answer equal or 409 in use', async () => {
  const token = await tokenize(serverFor(0), merchant);
  const key = randomUUID();
  const body = authorizeBody(token, 3333);
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_, index) =>
      call(serverFor(index), merchant, 'POST', '/payments/authorize', body, key),
    ),
  );
  const successes = answers.filter((answer) => answer.status === 201);
  assert.ok(successes.length >= 1);
  for (const answer of successes) assert.equal(answer.text, successes[0]!.text);
  for (const answer of answers.filter((item) => item.status !== 201)) {
    assert.equal(answer.status, 409, answer.text);
    assert.equal(answer.body.code, 'idempotency_key_in_use');
    assert.ok(Number(answer.headers.get('retry-after')) >= 1);
  }
  const [count] = await database.sql<{ n: number }[]>`
    select count(*)::int as n from payments.payments where merchant_id = ${merchant.merchantId} and amount = 3333`;
  assert.equal(count!.n, 1);
});

/**
 * Runs `operation` while the acquirer is slow and, once its phase 1 committed (`pending` holds of the
 * payment row), changes the payment's version under it: its phase 2, which first tries the payment as
 * phase 1 left it (ADR 18), must miss that guard and apply under the row lock instead. Tries a few
 * times in case the change came too late (after phase 2); fails if it never came in between.
 */
async function withPaymentChangedDuringAcquirerCall(
  paymentId: string,
  pending: string,
  operation: () => Promise<Awaited<ReturnType<typeof call>>>,
): Promise<Awaited<ReturnType<typeof call>>> {
  acquirer.configureFaults({ latencyMs: 300 });
  try {
    const answering = operation();
    for (let polls = 0; polls < 200; polls += 1) {
      const changed = await database.sql.unsafe(
        `update payments.payments set version = version + 1 where id = $1 and ${pending} returning id`,
        [paymentId],
      );
      if (changed.length > 0) return await answering;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await answering;
    throw new Error(`the payment never showed ${pending} while the acquirer answered`);
  } finally {
    acquirer.configureFaults({ latencyMs: 0 });
  }
}

test('phase 2 on a payment changed since phase 1: the guard misses, the row lock decides, nothing twice', async () => {
  const paymentId = await authorized(1000);
  const [before] = await database.sql<{ version: number }[]>`
    select version from payments.payments where id = ${paymentId}`;
  const captured = await withPaymentChangedDuringAcquirerCall(
    paymentId,
    `pending_operation = 'capture'`,
    () => call(serverFor(0), merchant, 'POST', `/payments/${paymentId}/capture`, { amount: 1000 }),
  );
  assert.equal(captured.status, 200, captured.text);
  assert.equal(captured.body.status, 'CAPTURED');
  const refunded = await withPaymentChangedDuringAcquirerCall(paymentId, `refunding_amount = 400`, () =>
    call(serverFor(1), merchant, 'POST', `/payments/${paymentId}/refund`, { amount: 400 }),
  );
  assert.equal(refunded.status, 200, refunded.text);
  assert.equal(refunded.body.status, 'REFUNDED', refunded.text);
  const [row] = await database.sql<
    {
      status: string;
      captured_amount: bigint;
      refunded_amount: bigint;
      refunding_amount: bigint;
      pending_operation: string | null;
      version: number;
    }[]
  >`
    select status, captured_amount, refunded_amount, refunding_amount, pending_operation, version
    from payments.payments where id = ${paymentId}`;
  assert.deepEqual(
    { ...row },
    {
      status: 'PARTIALLY_REFUNDED',
      captured_amount: 1000n,
      refunded_amount: 400n,
      refunding_amount: 0n,
      pending_operation: null,
      // Per operation: phase 1, the change made under it, phase 2 on top of that change.
      version: before!.version + 6,
    },
  );
  const journals = await database.sql<{ kind: string; count: bigint }[]>`
    select kind, count(*)::bigint as count from ledger.journals where payment_id = ${paymentId}
    group by kind order by kind`;
  assert.deepEqual(
    journals.map((journal) => [journal.kind, journal.count]),
    [
      ['authorization_hold', 1n],
      ['capture', 1n],
      ['refund', 1n],
    ],
  );
  await assertLedgerVerifies();
});

test('phase 2 of a void on a payment changed since phase 1: applied under the row lock, released once', async () => {
  const paymentId = await authorized(700);
  const [before] = await database.sql<{ version: number }[]>`
    select version from payments.payments where id = ${paymentId}`;
  const voided = await withPaymentChangedDuringAcquirerCall(paymentId, `pending_operation = 'void'`, () =>
    call(serverFor(1), merchant, 'POST', `/payments/${paymentId}/void`, {}),
  );
  assert.equal(voided.status, 200, voided.text);
  assert.equal(voided.body.status, 'VOIDED');
  const [row] = await database.sql<{ status: string; pending_operation: string | null; version: number }[]>`
    select status, pending_operation, version from payments.payments where id = ${paymentId}`;
  assert.deepEqual({ ...row }, { status: 'VOIDED', pending_operation: null, version: before!.version + 3 });
  const journals = await database.sql<{ kind: string }[]>`
    select kind from ledger.journals where payment_id = ${paymentId} order by kind`;
  assert.deepEqual(
    journals.map((journal) => journal.kind),
    ['authorization_hold', 'void'],
  );
  await assertLedgerVerifies();
});
