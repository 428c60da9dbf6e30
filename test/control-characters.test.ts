// PostgreSQL refuses NUL (\u0000) in text and jsonb: inputs carrying one (or other control characters
// where they make no sense) are refused as 4xx problems and never reach SQL as a 500.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startTestServer, type TestServer } from './support/server.ts';
import { merchantSession, type MerchantSession } from './support/identity.ts';
import { authorizeBody, call, paymentsEnv, startTestAcquirer, tokenize } from './support/payments.ts';
import type { RunningSimulator } from '../src/simulator/index.ts';

let acquirer: RunningSimulator;
let server: TestServer;
let merchant: MerchantSession;
let url: string;

before(async () => {
  acquirer = await startTestAcquirer();
  server = await startTestServer({ env: paymentsEnv(acquirer.url) });
  merchant = await merchantSession(server);
  url = server.baseUrl;
});
after(async () => {
  await server.close();
  await acquirer.close();
});

function assertRefused(answer: { status: number; text: string; headers: Headers }, what: string): void {
  assert.ok(answer.status >= 400 && answer.status < 500, `${what}: ${answer.status} ${answer.text}`);
  assert.match(answer.headers.get('content-type') ?? '', /application\/problem\+json/, what);
}

test('payment ids in paths with NUL or of the wrong shape are 400, never 500', async () => {
  for (const id of ['%00', 'pay_%00', `pay_${'0'.repeat(25)}%00`, 'pay_1']) {
    assertRefused(await call(url, merchant, 'GET', `/payments/${id}`), `GET ${id}`);
    assertRefused(await call(url, merchant, 'GET', `/payments/${id}/refunds`), `GET ${id}/refunds`);
    for (const action of ['capture', 'refund', 'void']) {
      assertRefused(await call(url, merchant, 'POST', `/payments/${id}/${action}`, {}), `${action} ${id}`);
    }
  }
  const wellFormed = await call(url, merchant, 'GET', `/payments/pay_${'0'.repeat(26)}`);
  assert.equal(wellFormed.status, 404, 'a well-formed unknown id is still 404');
});

test('authorize: NUL in the token, metadata keys or values, or the return URL is 400 and stores nothing', async () => {
  const token = await tokenize(url, merchant);
  const bodies: [string, unknown, string][] = [
    ['token', authorizeBody('tok_\u0000'), 'validation_failed'],
    ['token', authorizeBody(`${token}\u0000`), 'validation_failed'],
    ['metadata key', authorizeBody(token, 1000, { metadata: { 'a\u0000b': 'x' } }), 'invalid_metadata'],
    ['metadata value', authorizeBody(token, 1000, { metadata: { note: 'a\u0000b' } }), 'invalid_metadata'],
    [
      'return URL',
      {
        amount: 100,
        currency: 'EUR',
        paymentMethod: { type: 'bank_redirect', returnUrl: 'https://shop.example/\u0000' },
      },
      'validation_failed',
    ],
  ];
  for (const [what, body, code] of bodies) {
    const key = randomUUID();
    const answer = await call(url, merchant, 'POST', '/payments/authorize', body, key);
    assertRefused(answer, what);
    assert.equal(answer.status, 400, `${what}: ${answer.text}`);
    assert.equal(answer.body.code, code, what);
    const [stored] = await server.database.sql`
      select count(*)::int as n from payments.idempotency_keys where idempotency_key = ${key}`;
    assert.equal(stored!.n, 0, `${what}: nothing stored`);
  }
  const fine = await call(
    url,
    merchant,
    'POST',
    '/payments/authorize',
    authorizeBody(token, 1000, { metadata: { note: 'line one\nline two' } }),
  );
  assert.equal(fine.status, 201, `a newline in a value is fine: ${fine.text}`);
});

test('GET /tokens/{token} with NUL is 404, never 500', async () => {
  for (const token of ['%00', 'tok_%00', `tok_${'0'.repeat(25)}%00`]) {
    const answer = await fetch(`${url}/tokens/${token}`, {
      headers: { authorization: `Bearer ${merchant.token}` },
    });
    assert.equal(answer.status, 404, `${token}: ${await answer.text()}`);
  }
});

test('/oauth/token with NUL in client_id or client_secret is an OAuth error, never 500', async () => {
  const form = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(fields).toString(),
    });
  const inBody = [
    { grant_type: 'client_credentials', client_id: 'cli_\u0000', client_secret: 'secret' },
    { grant_type: 'client_credentials', client_id: merchant.clientId, client_secret: 's\u0000' },
  ];
  for (const fields of inBody) {
    const answer = await form(fields);
    assert.equal(answer.status, 400, await answer.clone().text());
    assert.equal(((await answer.json()) as { error: string }).error, 'invalid_request');
  }
  const basic = `Basic ${Buffer.from('cli_%00:secret').toString('base64')}`;
  const viaBasic = await form({ grant_type: 'client_credentials' }, { authorization: basic });
  assert.equal(viaBasic.status, 401, await viaBasic.clone().text());
  assert.equal(((await viaBasic.json()) as { error: string }).error, 'invalid_client');
});

test('authorize and refund: a lone UTF-16 surrogate in metadata is 400 invalid_unicode and stores nothing', async () => {
  const token = await tokenize(url, merchant);
  const key = randomUUID();
  // JSON.stringify writes a lone surrogate as the escape \ud800, which PostgreSQL's jsonb refuses.
  const raw = JSON.stringify(authorizeBody(token, 1000, { metadata: { note: 'a\ud800b' } }));
  const answer = await call(url, merchant, 'POST', '/payments/authorize', raw, key);
  assert.equal(answer.status, 400, answer.text);
  assert.equal(answer.body.code, 'invalid_unicode');
  const [stored] = await server.database.sql`
    select count(*)::int as n from payments.idempotency_keys where idempotency_key = ${key}`;
  assert.equal(stored!.n, 0, 'nothing stored');

  const sale = await call(
    url,
    merchant,
    'POST',
    '/payments/authorize',
    authorizeBody(token, 1000, { capture: true }),
  );
  assert.equal(sale.status, 201, sale.text);
  const refund = await call(
    url,
    merchant,
    'POST',
    `/payments/${sale.body.paymentId as string}/refund`,
    JSON.stringify({ metadata: { note: '\udc00' } }),
  );
  assert.equal(refund.status, 400, refund.text);
  assert.equal(refund.body.code, 'invalid_unicode');
});

test('capture, refund and void with no body at all take their defaults (the full amount)', async () => {
  const token = await tokenize(url, merchant);
  const noBody = async (path: string) => {
    const response = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${merchant.token}`, 'idempotency-key': randomUUID() },
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const first = await call(url, merchant, 'POST', '/payments/authorize', authorizeBody(token, 1500));
  assert.equal(first.status, 201, first.text);
  const paymentId = first.body.paymentId as string;
  const captured = await noBody(`/payments/${paymentId}/capture`);
  assert.equal(captured.status, 200, JSON.stringify(captured.body));
  assert.equal(captured.body.status, 'CAPTURED');
  const refunded = await noBody(`/payments/${paymentId}/refund`);
  assert.ok(refunded.status === 200 || refunded.status === 201, JSON.stringify(refunded.body));
  assert.equal(String(refunded.body.refundedAmount), '1500');

  const second = await call(url, merchant, 'POST', '/payments/authorize', authorizeBody(token, 700));
  assert.equal(second.status, 201, second.text);
  const voided = await noBody(`/payments/${second.body.paymentId as string}/void`);
  assert.equal(voided.status, 200, JSON.stringify(voided.body));
  assert.equal(voided.body.status, 'VOIDED');
});
