// Expiry of an AUTHORIZED payment voids its authorization at the acquirer (ADR 14): PayFlow releases
// the ledger hold and, in the same transaction, owes the acquirer a void under `pay_….reversal`, sent
// by the reversal job, so the payer's funds are no longer held at the issuer. The acquirer voids it
// once, whether one process or two run the jobs, and later when it was down at expiry. Real PayFlow
// over HTTP with a short AUTHORIZATION_VALIDITY_SECONDS, the real simulator on its own port, whose
// request log says how often PayFlow asked it to void each authorization.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { startTestServer, spawnServer, type TestServer } from './support/server.ts';
import { createTestDatabase } from './support/database.ts';
import {
  createMerchantCredentials,
  merchantSession,
  merchantSessionAt,
  type MerchantSession,
} from './support/identity.ts';
import {
  assertLedgerVerifies,
  authorizeBody,
  call,
  paymentsEnv,
  startTestAcquirer,
  tokenize,
  waitForPayment,
} from './support/payments.ts';
import { acquirerCaptureDecline, acquirerInquiry, waitForReversal } from './support/acquirer.ts';
import type { RunningSimulator } from '../src/simulator/index.ts';

/** Seconds an authorization holds funds in these tests (the default is seven days). */
const validitySeconds = '2';

let acquirer: RunningSimulator;
let server: TestServer;
let merchant: MerchantSession;
/** Every line the simulator logged: its request log and its decisions. */
const acquirerLog: Record<string, unknown>[] = [];

before(async () => {
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => void acquirerLog.push(JSON.parse(line) as Record<string, unknown>) },
  );
  acquirer = await startTestAcquirer({ logger });
  server = await startTestServer({
    env: paymentsEnv(acquirer.url, { AUTHORIZATION_VALIDITY_SECONDS: validitySeconds }),
  });
  merchant = await merchantSession(server);
});
after(async () => {
  await server.close();
  await acquirer.close();
});

/** Void requests the acquirer received for the authorization (answered 503 or not). */
function voidRequestsFor(authorizationId: string): number {
  const path = `/v1/authorizations/${authorizationId}/voids`;
  return acquirerLog.filter((line) => {
    const request = line.req as { method?: string; url?: string } | undefined;
    return line.msg === 'incoming request' && request?.method === 'POST' && request.url === path;
  }).length;
}

/** Voids the acquirer decided for the authorization (a replay under the same reference is not one). */
function voidsDecidedFor(authorizationId: string): { status: unknown; reference: unknown }[] {
  return acquirerLog
    .filter((line) => line.msg === 'void decided' && line.authorizationId === authorizationId)
    .map((line) => ({ status: line.status, reference: line.reference }));
}

interface Authorized {
  readonly paymentId: string;
  readonly authorizationId: string;
}

async function authorizedCard(baseUrl: string, session: MerchantSession, amount = 1000): Promise<Authorized> {
  const token = await tokenize(baseUrl, session);
  const answer = await call(baseUrl, session, 'POST', '/payments/authorize', authorizeBody(token, amount));
  assert.equal(answer.status, 201, answer.text);
  assert.equal(answer.body.status, 'AUTHORIZED');
  const paymentId = answer.body.paymentId as string;
  const authorization = await acquirerInquiry(acquirer.url, `${paymentId}.authorization`);
  assert.equal(authorization.status, 'approved');
  return { paymentId, authorizationId: authorization.authorizationId as string };
}

/** EXPIRED with the whole hold released in the ledger; a capture through PayFlow is refused. */
async function assertExpiredAndReleased(baseUrl: string, session: MerchantSession, paymentId: string) {
  const payment = await call(baseUrl, session, 'GET', `/payments/${paymentId}`);
  assert.equal(payment.body.status, 'EXPIRED');
  assert.equal(payment.body.ledgerHold, 0, 'the hold is released');
  assert.equal(payment.body.ledgerBalance, 0, 'nothing was taken');
  const capture = await call(baseUrl, session, 'POST', `/payments/${paymentId}/capture`, {});
  assert.equal(capture.status, 409, capture.text);
  assert.equal(capture.body.code, 'payment_expired');
}

test('an expired card authorization is voided at the acquirer, once: hold released, the issuer holds nothing', async () => {
  const { paymentId, authorizationId } = await authorizedCard(server.baseUrl, merchant);
  const before = await call(server.baseUrl, merchant, 'GET', `/payments/${paymentId}`);
  assert.equal(before.body.ledgerHold, 1000, 'held while authorized');

  await waitForPayment(server.baseUrl, merchant, paymentId, (payment) => payment.status === 'EXPIRED');
  const reversal = await waitForReversal(server.database.sql, paymentId, (row) => row.status !== 'pending');
  assert.deepEqual([reversal.reason, reversal.status, reversal.attempts], ['expiry', 'reversed', 0]);
  await assertExpiredAndReleased(server.baseUrl, merchant, paymentId);

  const voided = await acquirerInquiry(acquirer.url, `${paymentId}.reversal`);
  assert.deepEqual([voided.status, voided.authorizationId], ['voided', authorizationId]);
  assert.equal(voided.voidId, reversal.acquirer_operation_id);
  assert.equal(await acquirerCaptureDecline(acquirer.url, authorizationId), 'authorization_voided');
  // Give the jobs a few more runs: nothing is sent again.
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(voidRequestsFor(authorizationId), 1, 'PayFlow asked the acquirer once');
  assert.deepEqual(voidsDecidedFor(authorizationId), [
    { status: 'voided', reference: `${paymentId}.reversal` },
  ]);
  await assertLedgerVerifies(server.database.url);
});

test('acquirer down when the authorization expires: EXPIRED at once, the void is sent once the acquirer is back', async () => {
  const { paymentId, authorizationId } = await authorizedCard(server.baseUrl, merchant, 2500);
  acquirer.configureFaults({ failureRate: 1 });
  try {
    await waitForPayment(server.baseUrl, merchant, paymentId, (payment) => payment.status === 'EXPIRED');
    const owed = await waitForReversal(server.database.sql, paymentId, (row) => row.attempts >= 1);
    assert.deepEqual(
      [owed.reason, owed.status],
      ['expiry', 'pending'],
      'still owed while the acquirer is down',
    );
    await assertExpiredAndReleased(server.baseUrl, merchant, paymentId);
    assert.deepEqual(voidsDecidedFor(authorizationId), [], 'the acquirer has not voided it yet');
  } finally {
    acquirer.configureFaults({ failureRate: 0 });
  }
  const reversal = await waitForReversal(server.database.sql, paymentId, (row) => row.status !== 'pending');
  assert.equal(reversal.status, 'reversed');
  assert.ok(reversal.attempts >= 1, 'at least one failed attempt before the one that worked');
  assert.ok(voidRequestsFor(authorizationId) >= 2, 'sent again after the failure');
  assert.deepEqual(voidsDecidedFor(authorizationId), [
    { status: 'voided', reference: `${paymentId}.reversal` },
  ]);
  assert.equal(await acquirerCaptureDecline(acquirer.url, authorizationId), 'authorization_voided');
  await assertExpiredAndReleased(server.baseUrl, merchant, paymentId);
  await assertLedgerVerifies(server.database.url);
});

test('two PayFlow processes run the expiry and reversal jobs on one database: each authorization is voided once', async () => {
  const database = await createTestDatabase();
  const env = {
    DATABASE_URL: database.url,
    ...paymentsEnv(acquirer.url, { AUTHORIZATION_VALIDITY_SECONDS: validitySeconds }),
    // Both processes poll far more often than the default, so their jobs overlap.
    PAYMENT_JOB_INTERVAL_MS: '10',
    DATABASE_POOL_MAX: '5',
    // Both processes must share the vault keyring, as every process of one deployment does.
    VAULT_MASTER_KEY: randomBytes(32).toString('hex'),
  };
  const servers = [await spawnServer(env)];
  try {
    servers.push(await spawnServer(env));
    const baseUrl = servers[0]!.baseUrl;
    const session = await merchantSessionAt(baseUrl, await createMerchantCredentials(database.sql));
    const payments = await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        authorizedCard(servers[index % 2]!.baseUrl, session, 1000 + index),
      ),
    );
    for (const { paymentId } of payments) {
      await waitForPayment(baseUrl, session, paymentId, (payment) => payment.status === 'EXPIRED');
      const reversal = await waitForReversal(database.sql, paymentId, (row) => row.status !== 'pending');
      assert.deepEqual([reversal.reason, reversal.status], ['expiry', 'reversed']);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const { paymentId, authorizationId } of payments) {
      assert.equal(voidRequestsFor(authorizationId), 1, `one void request for ${paymentId}`);
      assert.deepEqual(voidsDecidedFor(authorizationId), [
        { status: 'voided', reference: `${paymentId}.reversal` },
      ]);
      await assertExpiredAndReleased(servers[1]!.baseUrl, session, paymentId);
    }
    await assertLedgerVerifies(database.url);
  } finally {
    for (const spawned of servers) await spawned.stop();
    await database.drop();
  }
});

test('an expired authorization the acquirer has captured meanwhile goes to manual review, never retried', async () => {
  const { paymentId, authorizationId } = await authorizedCard(server.baseUrl, merchant, 1500);
  // A capture PayFlow does not know of (another system, an operator at the acquirer's console).
  const response = await fetch(`${acquirer.url}/v1/authorizations/${authorizationId}/captures`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ reference: `outside-${paymentId}`, amount: 1500 }),
  });
  assert.equal(((await response.json()) as { status?: unknown }).status, 'captured');

  await waitForPayment(server.baseUrl, merchant, paymentId, (payment) => payment.status === 'EXPIRED');
  const reversal = await waitForReversal(server.database.sql, paymentId, (row) => row.status !== 'pending');
  assert.deepEqual([reversal.reason, reversal.status], ['expiry', 'manual_review']);
  const [row] = await server.database.sql<{ decline_code: string | null; next_attempt_at: Date | null }[]>`
    select decline_code, next_attempt_at from payments.owed_acquirer_operations
    where payment_id = ${paymentId} and operation = 'void'`;
  assert.deepEqual([row?.decline_code, row?.next_attempt_at], ['already_captured', null]);
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(voidRequestsFor(authorizationId), 1, 'a refusal no retry can change is not sent again');
  await assertExpiredAndReleased(server.baseUrl, merchant, paymentId);
});
