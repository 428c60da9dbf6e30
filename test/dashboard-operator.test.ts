// The operator view's API (ADR 32) against real PostgreSQL through HTTP: `payflow users create
// --operator` makes a dashboard user of no merchant; its session is an admin principal, so the
// /v1/admin routes answer it: merchants (list, create, disable: the merchant's tokens and sessions
// stop working), API clients (list, disable), dead-lettered events (list, replay: the consumer group
// gets the event back), jobs, reconciliation exceptions. Changes need the CSRF token. A merchant
// owner's session gets 403 problem+json on every operator endpoint, and the operator's session gets
// 403 on merchant routes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningSimulator } from '../src/simulator/index.ts';
import {
  createDashboardUser,
  createOperatorUser,
  dashboardSession,
  deadLetterOf,
  signIn,
  type DashboardSession,
} from './support/dashboard.ts';
import { eventually } from './support/eventually.ts';
import { fetchToken, merchantSession, type MerchantSession } from './support/identity.ts';
import { authorizeBody, call, paymentsEnv, startTestAcquirer, tokenize } from './support/payments.ts';
import { runCli, startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
let acquirer: RunningSimulator;
let merchant: MerchantSession;
let operator: DashboardSession;
let owner: DashboardSession;
let paymentId: string;

before(async () => {
  acquirer = await startTestAcquirer();
  server = await startTestServer({ env: paymentsEnv(acquirer.url) });
  merchant = await merchantSession(server, 'Operator Watched Ltd');
  const token = await tokenize(server.baseUrl, merchant);
  const sale = await call(
    server.baseUrl,
    merchant,
    'POST',
    '/payments/authorize',
    authorizeBody(token, 2500),
  );
  assert.equal(sale.status, 201, sale.text);
  paymentId = sale.body['paymentId'] as string;
  const operatorUser = await createOperatorUser(server);
  operator = await dashboardSession(server, operatorUser.email, operatorUser.password);
  const ownerUser = await createDashboardUser(server, merchant.merchantId, 'owner');
  owner = await dashboardSession(server, ownerUser.email, ownerUser.password);
});
after(async () => {
  await server?.close();
  await acquirer?.close();
});

/** Every operator endpoint, with a body for the changes (ids need not exist: scopes come first). */
const operatorEndpoints: readonly [string, string, unknown?][] = [
  ['GET', '/v1/admin/merchants'],
  ['POST', '/v1/admin/merchants', { name: 'Not by a merchant' }],
  ['POST', '/v1/admin/merchants/mer_00000000000000000000000000/disable', {}],
  ['GET', '/v1/admin/clients'],
  ['POST', '/v1/admin/clients/cli_00000000000000000000000000/disable', {}],
  ['GET', '/v1/admin/events/dead-letters'],
  ['POST', '/v1/admin/events/dead-letters/dlq_00000000000000000000000000/replay'],
  ['GET', '/v1/admin/settlement/runs'],
  ['GET', '/v1/admin/reconciliation/exceptions'],
  ['POST', '/v1/admin/reconciliation/exceptions/rcr_00000000000000000000000000/resolve', { reason: 'x' }],
  ['GET', '/v1/admin/payments/unresolved'],
  ['POST', '/v1/admin/payments/pay_00000000000000000000000000/resolve', {}],
];

test('payflow users create --operator makes a user of no merchant; --operator with --merchant is refused', async () => {
  const email = `ops.${Date.now()}@payflow.example`;
  const created = await runCli(['users', 'create', '--operator', '--email', email], {
    DATABASE_URL: server.database.url,
  });
  assert.equal(created.code, 0, created.stderr);
  const body = JSON.parse(created.stdout) as Record<string, unknown>;
  assert.equal(body['role'], 'operator');
  assert.equal(body['merchantId'], undefined);
  const session = await dashboardSession(server, email, body['password'] as string);
  assert.deepEqual(
    { role: session.user['role'], merchantId: session.user['merchantId'] },
    { role: 'operator', merchantId: null },
  );
  const both = await runCli(
    ['users', 'create', '--operator', '--merchant', merchant.merchantId, '--email', `x.${email}`],
    { DATABASE_URL: server.database.url },
  );
  assert.notEqual(both.code, 0);
  const [row] = await server.database
    .sql`select 1 from identity.dashboard_users where email = ${`x.${email}`}`;
  assert.equal(row, undefined);
});

test('a merchant owner gets 403 problem+json on every operator endpoint; an operator gets 403 on merchant routes', async () => {
  for (const [method, path, body] of operatorEndpoints) {
    const response = await fetch(`${server.baseUrl}${path}`, {
      method,
      headers: {
        cookie: owner.cookie,
        'x-csrf-token': owner.csrfToken,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    assert.equal(response.status, 403, `${method} ${path}`);
    assert.match(
      response.headers.get('content-type') ?? '',
      /^application\/problem\+json/,
      `${method} ${path}`,
    );
    assert.equal(
      ((await response.json()) as { code: string }).code,
      'insufficient_scope',
      `${method} ${path}`,
    );
  }
  // The merchant's own API token is no better.
  const byToken = await fetch(`${server.baseUrl}/v1/admin/merchants`, { headers: merchant.headers() });
  assert.equal(byToken.status, 403);
  // And the operator is no merchant: the merchant routes refuse its session.
  for (const path of ['/payments', '/balance', '/dashboard/api/clients']) {
    const answer = await operator.fetch('GET', path);
    assert.equal(answer.status, 403, `${path}: ${JSON.stringify(answer.body)}`);
  }
});

test('an operator lists, creates and disables merchants; the disabled merchant’s token and sessions stop', async () => {
  const noCsrf = await operator.fetch('POST', '/v1/admin/merchants', { name: 'No token' }, { csrf: false });
  assert.equal(noCsrf.status, 403);
  assert.equal(noCsrf.body['code'], 'csrf_token_invalid');

  const created = await operator.fetch('POST', '/v1/admin/merchants', {
    name: 'Created By Ops',
    email: 'books@created.example',
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const merchantId = created.body['merchantId'] as string;
  assert.match(merchantId, /^mer_/);
  const newToken = await fetchToken(
    server.baseUrl,
    created.body['clientId'] as string,
    created.body['clientSecret'] as string,
  );
  const listed = await operator.fetch('GET', '/v1/admin/merchants');
  assert.equal(listed.status, 200);
  const row = (listed.body['data'] as Record<string, unknown>[]).find(
    (item) => item['merchantId'] === merchantId,
  );
  assert.deepEqual(
    { name: row?.['name'], status: row?.['status'], activeClients: row?.['activeClients'] },
    { name: 'Created By Ops', status: 'active', activeClients: 2 },
  );

  // Disable the first merchant: its owner's session ends, its API token is refused.
  const disabled = await operator.fetch('POST', `/v1/admin/merchants/${merchant.merchantId}/disable`, {
    reason: 'terms breach (test)',
  });
  assert.equal(disabled.status, 200, JSON.stringify(disabled.body));
  assert.deepEqual(
    {
      status: disabled.body['status'],
      changed: disabled.body['changed'],
      clients: disabled.body['clientsDisabled'],
    },
    { status: 'disabled', changed: true, clients: 2 },
  );
  const again = await operator.fetch('POST', `/v1/admin/merchants/${merchant.merchantId}/disable`, {});
  assert.equal(again.body['changed'], false);
  assert.equal((await owner.fetch('GET', '/payments')).status, 401);
  const ownerAgain = await signIn(server, (owner.user['email'] as string) ?? '', 'whatever-password-1');
  assert.equal(ownerAgain.status, 401);
  await eventually('the disabled merchant’s token refused', async () => {
    const refused = await fetch(`${server.baseUrl}/payments/${paymentId}`, { headers: merchant.headers() });
    return refused.status === 401 ? true : undefined;
  });
  // The audit names the operator's dashboard user.
  const [audit] = await server.database.sql<{ actor: string; reason: string }[]>`
    select actor, reason from identity.client_access_changes where client_id = ${merchant.clientId}`;
  assert.deepEqual(audit, {
    actor: `dashboard:${operator.user['id'] as string}`,
    reason: 'terms breach (test)',
  });
  // The other merchant still works.
  const other = await fetch(`${server.baseUrl}/payments`, {
    headers: { authorization: `Bearer ${newToken}` },
  });
  assert.equal(other.status, 200);

  // Clients of every merchant, and disabling one by id.
  const clients = await operator.fetch('GET', '/v1/admin/clients');
  assert.equal(clients.status, 200);
  const ids = (clients.body['data'] as { clientId: string }[]).map((client) => client.clientId);
  assert.ok(ids.includes(created.body['clientId'] as string));
  const disableClient = await operator.fetch(
    'POST',
    `/v1/admin/clients/${created.body['clientId'] as string}/disable`,
    {},
  );
  assert.equal(disableClient.status, 200);
  assert.equal(disableClient.body['status'], 'disabled');
});

test('an operator sees a dead-lettered event and replays it; its consumer group gets it back once', async () => {
  const letter = await deadLetterOf(server, paymentId);
  const listed = await operator.fetch('GET', '/v1/admin/events/dead-letters');
  assert.equal(listed.status, 200);
  const found = (listed.body['data'] as Record<string, unknown>[]).find((item) => item['id'] === letter.id);
  assert.equal(found?.['eventId'], letter.eventId);
  assert.equal(found?.['consumerGroup'], 'webhooks');

  const replayed = await operator.fetch('POST', `/v1/admin/events/dead-letters/${letter.id}/replay`);
  assert.equal(replayed.status, 200, JSON.stringify(replayed.body));
  const twice = await operator.fetch('POST', `/v1/admin/events/dead-letters/${letter.id}/replay`);
  assert.equal(twice.status, 404);
  assert.equal(twice.body['code'], 'dead_letter_not_found');
  const [row] = await server.database.sql<{ replayed: boolean }[]>`
    select replayed_at is not null as replayed from events.dead_letters where id = ${letter.id}`;
  assert.equal(row?.replayed, true);
  // The consumer takes the queued retry and handles it (its inbox keeps one effect).
  await eventually('the replayed event handled by the webhooks group', async () => {
    const [waiting] = await server.database.sql<{ count: number }[]>`
      select count(*)::int as count from events.retries r join events.log l using (position)
      where r.consumer_group = 'webhooks' and l.event_id = ${letter.eventId}`;
    return waiting?.count === 0 ? true : undefined;
  });
});

test('an operator runs and sees a job, and lists reconciliation exceptions', async () => {
  const date = new Date().toISOString().slice(0, 10);
  const run = await operator.fetch('POST', '/v1/admin/settlement/runs', { date });
  assert.equal(run.status, 200, JSON.stringify(run.body));
  const jobs = await operator.fetch('GET', '/v1/admin/settlement/runs');
  assert.equal(jobs.status, 200);
  const job = (jobs.body['data'] as Record<string, unknown>[]).find(
    (item) => item['job'] === 'settlement' && String(item['parameters']).endsWith(`:${date}`),
  );
  assert.equal(job?.['job'], 'settlement');
  assert.equal(job?.['status'], 'completed');
  const exceptions = await operator.fetch('GET', '/v1/admin/reconciliation/exceptions');
  assert.equal(exceptions.status, 200);
  assert.ok(Array.isArray(exceptions.body['data']));
});
