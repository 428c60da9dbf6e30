// ADR 29: one path style. /openapi.json lists every API operation under /v1 (and each once), the
// paths documented before (/payments/…, /tokens, /balance, …) answer exactly as their /v1 paths,
// and the paths standards and operators expect stay where they are.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { createApiPaths, isVersioned } from '../src/platform/http/api-paths.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { merchantSession, type MerchantSession } from './support/identity.ts';
import { call, tokenize } from './support/payments.ts';

let server: TestServer;
let session: MerchantSession;
let paths: string[];

/** Paths outside /v1 on purpose: OAuth2 and RFC 8414, probes, metrics, the dashboard's own API. */
const unversioned = [
  /^\/oauth\/token$/,
  /^\/\.well-known\/[a-z.-]+$/,
  /^\/healthz$/,
  /^\/readyz$/,
  /^\/metrics$/,
  /^\/dashboard\/api\//,
];

before(async () => {
  server = await startTestServer();
  session = await merchantSession(server);
  const document = (await (await fetch(`${server.baseUrl}/openapi.json`)).json()) as {
    paths: Record<string, unknown>;
  };
  paths = Object.keys(document.paths);
});
after(() => server.close());

test('/openapi.json lists one path style: the API under /v1, each operation once', () => {
  const outside = paths.filter(
    (path) => !path.startsWith('/v1/') && !unversioned.some((pattern) => pattern.test(path)),
  );
  assert.deepEqual(outside, []);
  for (const path of [
    '/v1/payments/authorize',
    '/v1/tokens',
    '/v1/balance',
    '/v1/settlements',
    '/v1/fraud/rules',
  ])
    assert.ok(paths.includes(path), `${path} is documented`);
  // No alias documented beside its /v1 path.
  const twice = paths.filter((path) => paths.includes(`/v1${path}`));
  assert.deepEqual(twice, []);
});

/** Status, content type and body of a call, with the parts that differ per request taken out. */
async function answer(
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; type: string | null; body: unknown }> {
  const response = await fetch(`${server.baseUrl}${path}`, init);
  const text = await response.text();
  let body: unknown = text;
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    delete parsed['requestId'];
    body = parsed;
  } catch {
    // not JSON: compared as text
  }
  return { status: response.status, type: response.headers.get('content-type'), body };
}

test('the old paths answer exactly as the /v1 paths, reads and writes', async () => {
  const card = await tokenize(server.baseUrl, session);
  const authorized = await call(server.baseUrl, session, 'POST', '/payments/authorize', {
    amount: 1234,
    currency: 'USD',
    paymentMethod: { type: 'card', token: card },
  });
  assert.equal(authorized.status, 201, authorized.text);
  const id = String(authorized.body['paymentId']);
  const read = { headers: { authorization: `Bearer ${session.token}` } };
  for (const path of [
    `/payments/${id}`,
    `/payments/${id}/timeline`,
    '/payments?limit=5',
    '/payments/volume?days=2',
    '/payments.csv?currency=USD',
    '/balance',
    `/tokens/${card}`,
    '/fraud/rules',
    '/webhooks/event-types',
    '/settlements',
    '/payouts',
    `/payments/${id}/`, // the trailing slash the app ignores
    '/payments/pay_nope',
  ]) {
    const old = await answer(path, read);
    assert.ok(old.status < 500, `${path}: ${old.status}`);
    assert.deepEqual(old, await answer(`/v1${path}`, read), path);
  }
  // A write on the old path, its retry on the new one: one route, one idempotency record.
  const key = randomUUID();
  const capture = (path: string) => call(server.baseUrl, session, 'POST', path, { amount: 1000 }, key);
  const first = await capture(`/payments/${id}/capture`);
  assert.equal(first.status, 200, first.text);
  const again = await capture(`/v1/payments/${id}/capture`);
  assert.equal(again.status, 200, again.text);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.deepEqual(again.body, first.body);
  // Without credentials: the same refusal on both.
  const anonymous = { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' };
  const refused = await answer('/payments/authorize', anonymous);
  assert.equal(refused.status, 401);
  assert.deepEqual(refused, await answer('/v1/payments/authorize', anonymous));
});

test('paths that standards and operators expect stay where they are', async () => {
  for (const path of ['/healthz', '/.well-known/oauth-authorization-server', '/openapi.json']) {
    assert.equal((await fetch(`${server.baseUrl}${path}`)).status, 200, path);
    assert.equal((await fetch(`${server.baseUrl}/v1${path}`)).status, 404, `/v1${path}`);
  }
  // The checkout page keeps its address (it is /checkout/{id}, not the API's /v1/checkout/sessions).
  assert.notEqual((await fetch(`${server.baseUrl}/checkout/cs_anything`)).status, 404);
  const unknown = await answer('/nope');
  assert.equal(unknown.status, 404);
  assert.equal((unknown.body as { code?: string }).code, 'route_not_found');
});

test('the alias rewrite: only templates that moved, with the query kept', () => {
  const apiPaths = createApiPaths();
  for (const url of ['/payments/:id', '/payments/:id/capture', '/payments.csv', '/checkout/sessions/:id/pay'])
    apiPaths.onRoute({ url, method: 'GET' } as never);
  for (const url of ['/checkout/:id', '/oauth/token', '/v1/admin/clients', '/dashboard/*'])
    assert.equal(isVersioned(url), false, url);
  const rewrite = (url: string) => apiPaths.rewriteUrl({ url } as never);
  assert.equal(rewrite('/payments/pay_1/capture?x=1'), '/v1/payments/pay_1/capture?x=1');
  assert.equal(rewrite('/payments.csv?currency=USD'), '/v1/payments.csv?currency=USD');
  assert.equal(rewrite('/paymentsXcsv'), '/paymentsXcsv');
  assert.equal(rewrite('/checkout/sessions/cs_1/pay'), '/v1/checkout/sessions/cs_1/pay');
  assert.equal(rewrite('/checkout/cs_1'), '/checkout/cs_1');
  assert.equal(rewrite('/v1/payments/pay_1'), '/v1/payments/pay_1');
  assert.equal(rewrite('/payments/a/b/c/d'), '/payments/a/b/c/d');
  assert.deepEqual(apiPaths.aliases(), [
    '/payments/:id',
    '/payments/:id/capture',
    '/payments.csv',
    '/checkout/sessions/:id/pay',
  ]);
});
