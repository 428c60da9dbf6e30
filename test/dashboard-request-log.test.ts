// The Developers page's log of recent API requests (ADR 32) against real PostgreSQL through HTTP:
// a merchant's requests (bearer token, any status) show in its dashboard with method, path without
// the query string, status, duration and the X-Request-Id the answer carried; never a body or card
// data; another merchant's requests do not show; the log keeps the newest 200 per merchant.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningSimulator } from '../src/simulator/index.ts';
import { createDashboardUser, dashboardSession, type DashboardSession } from './support/dashboard.ts';
import { eventually } from './support/eventually.ts';
import { merchantSession, type MerchantSession } from './support/identity.ts';
import {
  approvedCard,
  authorizeBody,
  call,
  paymentsEnv,
  startTestAcquirer,
  tokenize,
} from './support/payments.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
let acquirer: RunningSimulator;
let merchant: MerchantSession;
let other: MerchantSession;
let owner: DashboardSession;

before(async () => {
  acquirer = await startTestAcquirer();
  server = await startTestServer({ env: paymentsEnv(acquirer.url) });
  merchant = await merchantSession(server, 'Logged Requests Co');
  other = await merchantSession(server, 'Other Logged Co');
  const user = await createDashboardUser(server, merchant.merchantId, 'analyst');
  owner = await dashboardSession(server, user.email, user.password);
});
after(async () => {
  await server?.close();
  await acquirer?.close();
});

type Logged = {
  method: string;
  path: string;
  status: number;
  durationMs: number;
  requestId: string;
  clientId: string;
};

async function logged(session: DashboardSession): Promise<Logged[]> {
  const answer = await session.fetch('GET', '/dashboard/api/request-log?limit=200');
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  // The API answers under /v1 (ADR 29), whichever alias the caller used: compare without it.
  return (answer.body['data'] as Logged[]).map((entry) => {
    assert.match(entry.path, /^\/v1\//);
    return { ...entry, path: entry.path.slice(3) };
  });
}

test('a merchant’s requests show with status, path without query, request id and duration; no card data', async () => {
  const token = await tokenize(server.baseUrl, merchant);
  const sale = await call(
    server.baseUrl,
    merchant,
    'POST',
    '/payments/authorize',
    authorizeBody(token, 1500),
  );
  assert.equal(sale.status, 201, sale.text);
  const paymentId = sale.body['paymentId'] as string;
  const missing = await fetch(`${server.baseUrl}/payments/pay_zzzzzzzzzzzzzzzzzzzzzzzzzz`, {
    headers: merchant.headers(),
  });
  assert.equal(missing.status, 404);
  const missingId = missing.headers.get('x-request-id') ?? '';
  // A card number pasted into a path (the vault-leak test does the same) is kept masked.
  const pasted = await fetch(`${server.baseUrl}/tokens/${approvedCard}`, { headers: merchant.headers() });
  assert.equal(pasted.status, 404);
  const pastedId = pasted.headers.get('x-request-id') ?? '';
  const search = await fetch(`${server.baseUrl}/payments?email=secret.person%40example.com`, {
    headers: merchant.headers(),
  });
  assert.equal(search.status, 200);
  const searchId = search.headers.get('x-request-id') ?? '';
  const elsewhere = await fetch(`${server.baseUrl}/payments`, { headers: other.headers() });
  const elsewhereId = elsewhere.headers.get('x-request-id') ?? '';

  // A request is recorded when its answer has gone (possibly after the client read it) and written
  // by a flush every second: wait for every entry asserted on below, not only some of them.
  const entries = await eventually('the requests in the log', async () => {
    const found = await logged(owner);
    return [missingId, pastedId, searchId].every((id) => found.some((entry) => entry.requestId === id)) &&
      found.some((entry) => entry.path === `/payments/authorize`) &&
      found.some((entry) => entry.path === '/tokens')
      ? found
      : undefined;
  });
  // The other merchant's request is in the log (under its merchant), so its absence below means something.
  await eventually('the other merchant’s request in the log', async () => {
    const [row] = await server.database.sql<{ merchant_id: string }[]>`
      select merchant_id from identity.request_log where request_id = ${elsewhereId}`;
    return row?.merchant_id === other.merchantId ? true : undefined;
  });
  const notFound = entries.find((entry) => entry.requestId === missingId);
  assert.deepEqual(
    {
      method: notFound?.method,
      path: notFound?.path,
      status: notFound?.status,
      clientId: notFound?.clientId,
    },
    {
      method: 'GET',
      path: '/payments/pay_zzzzzzzzzzzzzzzzzzzzzzzzzz',
      status: 404,
      clientId: merchant.clientId,
    },
  );
  assert.ok(Number.isInteger(notFound?.durationMs) && notFound!.durationMs >= 0);
  assert.equal(entries.find((entry) => entry.requestId === pastedId)?.path, '/tokens/[redacted]');
  const authorize = entries.find((entry) => entry.path === '/payments/authorize');
  assert.equal(authorize?.status, 201);
  assert.equal(authorize?.method, 'POST');
  assert.ok(entries.some((entry) => entry.path === '/tokens' && entry.clientId === merchant.publishableKey));
  const text = JSON.stringify(entries);
  assert.equal(text.includes(approvedCard), false, 'no card number');
  assert.equal(text.includes(approvedCard.slice(-4) + '"'), false);
  assert.equal(text.includes('secret.person'), false, 'no query string');
  assert.deepEqual(
    [
      entries.find((entry) => entry.requestId === searchId)?.path,
      entries.find((entry) => entry.requestId === searchId)?.status,
    ],
    ['/payments', 200],
  );
  // The other merchant's request is not here; the payment's own page is reachable for the merchant.
  assert.equal(entries.filter((entry) => entry.clientId === other.clientId).length, 0);
  assert.ok(paymentId.startsWith('pay_'));
});

test('the log keeps the newest 200 requests of a merchant', async () => {
  for (let batch = 0; batch < 11; batch += 1)
    await Promise.all(
      Array.from({ length: 20 }, () => fetch(`${server.baseUrl}/balance`, { headers: merchant.headers() })),
    );
  const last = await fetch(`${server.baseUrl}/balance?last=1`, { headers: merchant.headers() });
  const lastId = last.headers.get('x-request-id') ?? '';
  await eventually('the last request in the log', async () =>
    (await logged(owner)).some((entry) => entry.requestId === lastId) ? true : undefined,
  );
  await eventually('the log trimmed to 200', async () => {
    const [row] = await server.database.sql<{ count: number }[]>`
      select count(*)::int as count from identity.request_log where merchant_id = ${merchant.merchantId}`;
    return row?.count === 200 ? true : undefined;
  });
  assert.equal((await logged(owner)).length, 200);
});
