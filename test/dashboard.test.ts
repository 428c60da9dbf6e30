// Dashboard sign-in (ADR 24) against real PostgreSQL through HTTP: users made with the CLI sign in
// with a password to an httpOnly SameSite=Strict cookie session; roles are the API's scopes (an
// analyst cannot refund, whatever the page shows); a change without the session's CSRF token is
// refused; repeated failures lock the account; one merchant's session never sees another's
// payments; signing out ends the session.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { RunningSimulator } from '../src/simulator/index.ts';
import { createDashboardUser, dashboardSession, signIn } from './support/dashboard.ts';
import { merchantSession, type MerchantSession } from './support/identity.ts';
import { authorizeBody, call, paymentsEnv, startTestAcquirer, tokenize } from './support/payments.ts';
import { runCli, startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
let acquirer: RunningSimulator;
let merchant: MerchantSession;
let paymentId: string;

before(async () => {
  acquirer = await startTestAcquirer();
  server = await startTestServer({ env: paymentsEnv(acquirer.url) });
  merchant = await merchantSession(server, 'Dashboard Books');
  const token = await tokenize(server.baseUrl, merchant);
  const sale = await call(
    server.baseUrl,
    merchant,
    'POST',
    '/payments/authorize',
    authorizeBody(token, 5000, { capture: true }),
  );
  assert.equal(sale.status, 201, sale.text);
  paymentId = sale.body['paymentId'] as string;
});
after(async () => {
  await server?.close();
  await acquirer?.close();
});

test('payflow users create prints a password once; it signs in to an httpOnly SameSite=Strict session', async () => {
  const email = `Owner.${Date.now()}@Books.example`;
  const result = await runCli(
    ['users', 'create', '--merchant', merchant.merchantId, '--email', email, '--role', 'owner'],
    { DATABASE_URL: server.database.url },
  );
  assert.equal(result.code, 0, result.stderr);
  const created = JSON.parse(result.stdout) as Record<string, string>;
  assert.equal(created['email'], email.toLowerCase());
  assert.equal(created['role'], 'owner');
  assert.ok((created['password'] ?? '').length >= 12);
  const [row] = await server.database.sql<{ password_hash: string }[]>`
    select password_hash from identity.dashboard_users where email = ${email.toLowerCase()}`;
  assert.match(row!.password_hash, /^scrypt\$/);
  assert.ok(!row!.password_hash.includes(created['password']!));

  const session = await dashboardSession(server, email, created['password']!);
  const attributes = session.setCookie.split(';').map((part) => part.trim());
  assert.match(attributes[0]!, /^payflow_session=[A-Za-z0-9_-]{43}$/);
  for (const attribute of ['HttpOnly', 'SameSite=Strict', 'Path=/'])
    assert.ok(attributes.includes(attribute));
  assert.ok(!attributes.includes('Secure'), 'no Secure flag on plain HTTP');
  assert.equal(session.user['merchantName'], 'Dashboard Books');
  assert.equal(session.user['role'], 'owner');
  const me = await session.fetch('GET', '/dashboard/api/session');
  assert.equal(me.status, 200);
  assert.equal(
    me.body['csrfToken'],
    session.csrfToken,
    'the page can get its CSRF token again after a reload',
  );
});

test('wrong passwords and unknown emails get the same answer; five failures lock the account', async () => {
  const user = await createDashboardUser(server, merchant.merchantId, 'developer');
  const unknown = await signIn(server, 'nobody@nowhere.example', 'a-password-that-is-long');
  assert.equal(unknown.status, 401);
  assert.equal(((await unknown.json()) as Record<string, unknown>)['code'], 'invalid_credentials');
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const wrong = await signIn(server, user.email, 'not-the-password!');
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as Record<string, unknown>)['code'], 'invalid_credentials');
  }
  const locked = await signIn(server, user.email, user.password);
  assert.equal(locked.status, 429);
  assert.equal(((await locked.json()) as Record<string, unknown>)['code'], 'account_locked');
  assert.ok(Number(locked.headers.get('retry-after')) > 0);
  // Once the lock has passed, the right password works again.
  await server.database.sql`
    update identity.dashboard_users set locked_until = now() - interval '1 second' where email = ${user.email}`;
  assert.equal((await signIn(server, user.email, user.password)).status, 200);
});

test('an owner refunds with the CSRF token; without it nothing happens', async () => {
  const user = await createDashboardUser(server, merchant.merchantId, 'owner');
  const session = await dashboardSession(server, user.email, user.password);
  const list = await session.fetch('GET', '/payments?limit=10');
  assert.equal(list.status, 200, JSON.stringify(list.body));
  assert.ok(
    (list.body['data'] as { paymentId: string }[]).some((payment) => payment.paymentId === paymentId),
  );

  const forged = await session.fetch(
    'POST',
    `/payments/${paymentId}/refund`,
    { amount: 1000 },
    { csrf: false, idempotencyKey: randomUUID() },
  );
  assert.equal(forged.status, 403);
  assert.equal(forged.body['code'], 'csrf_token_invalid');
  const wrongToken = await fetch(`${server.baseUrl}/payments/${paymentId}/refund`, {
    method: 'POST',
    headers: {
      cookie: session.cookie,
      'x-csrf-token': 'x'.repeat(43),
      'content-type': 'application/json',
      'idempotency-key': randomUUID(),
    },
    body: JSON.stringify({ amount: 1000 }),
  });
  assert.equal(wrongToken.status, 403);
  assert.equal(
    (await call(server.baseUrl, merchant, 'GET', `/payments/${paymentId}`)).body['refundedAmount'],
    0,
  );

  const refund = await session.fetch(
    'POST',
    `/payments/${paymentId}/refund`,
    { amount: 1000 },
    { idempotencyKey: randomUUID() },
  );
  assert.equal(refund.status, 200, JSON.stringify(refund.body));
  assert.equal(refund.body['status'], 'REFUNDED');
  const payment = await call(server.baseUrl, merchant, 'GET', `/payments/${paymentId}`);
  assert.equal(payment.body['refundedAmount'], 1000);
});

test('an analyst reads payments but the API refuses its refund', async () => {
  const user = await createDashboardUser(server, merchant.merchantId, 'analyst');
  const session = await dashboardSession(server, user.email, user.password);
  assert.equal((await session.fetch('GET', `/payments/${paymentId}`)).status, 200);
  const before = (await call(server.baseUrl, merchant, 'GET', `/payments/${paymentId}`)).body[
    'refundedAmount'
  ];
  const refund = await session.fetch(
    'POST',
    `/payments/${paymentId}/refund`,
    { amount: 500 },
    { idempotencyKey: randomUUID() },
  );
  assert.equal(refund.status, 403);
  assert.equal(refund.body['code'], 'insufficient_scope');
  const afterwards = (await call(server.baseUrl, merchant, 'GET', `/payments/${paymentId}`)).body[
    'refundedAmount'
  ];
  assert.equal(afterwards, before);
});

test("one merchant's session cannot see another's payments", async () => {
  const other = await merchantSession(server, 'Other Shop');
  const user = await createDashboardUser(server, other.merchantId, 'owner');
  const session = await dashboardSession(server, user.email, user.password);
  const foreign = await session.fetch('GET', `/payments/${paymentId}`);
  assert.equal(foreign.status, 404);
  const list = await session.fetch('GET', '/payments?limit=100');
  assert.deepEqual(list.body['data'], []);
});

test('signing out needs the CSRF token and ends the session', async () => {
  const user = await createDashboardUser(server, merchant.merchantId, 'owner');
  const session = await dashboardSession(server, user.email, user.password);
  assert.equal(
    (await session.fetch('DELETE', '/dashboard/api/session', undefined, { csrf: false })).status,
    403,
  );
  assert.equal((await session.fetch('DELETE', '/dashboard/api/session')).status, 204);
  assert.equal((await session.fetch('GET', '/dashboard/api/session')).status, 401);
  const after = await session.fetch('GET', '/payments');
  assert.equal(after.status, 401);
  assert.equal(after.body['code'], 'session_expired');
});
