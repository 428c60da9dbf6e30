// Idempotency-Key on the single-transaction endpoints (src/platform/idempotency.ts) through the real
// server: webhook endpoint creation, rotation and delete, and POST /tokens. The key is optional there:
// without one nothing changes; with one a retry gets the first answer, another request under it 409.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startTestServer, type TestServer } from './support/server.ts';
import { merchantSession, type MerchantSession } from './support/identity.ts';
import { keyReaperJob } from '../src/platform/idempotency.ts';
import { createLogger } from '../src/platform/log.ts';

let server: TestServer;
let merchant: MerchantSession;

before(async () => {
  server = await startTestServer({ env: { WEBHOOK_ALLOW_PRIVATE: 'true' } });
  merchant = await merchantSession(server, 'Idempotency merchant');
});
after(async () => {
  await server?.close();
});

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

async function send(
  method: 'POST' | 'DELETE',
  path: string,
  body: unknown,
  key: string | undefined,
  token = merchant.token,
): Promise<Answer> {
  const response = await fetch(`${server.baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
      ...(key !== undefined && { 'idempotency-key': key }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    text,
    headers: response.headers,
    body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
  };
}

function endpointBody(path = randomUUID()) {
  return { url: `http://127.0.0.1:9/${path}`, eventTypes: ['payment.captured.v1'] };
}

async function endpointsWithUrl(url: string): Promise<number> {
  const [row] = await server.database.sql<{ count: number }[]>`
    select count(*)::int as count from notifications.webhook_endpoints
    where merchant_id = ${merchant.merchantId} and url = ${url}`;
  return row!.count;
}

async function keyRows(table: 'notifications' | 'vault', key: string) {
  return server.database.sql<{ line: string; response_body: string | null }[]>`
    select t::text as line, response_body from ${server.database.sql(`${table}.idempotency_keys`)} t
    where merchant_id = ${merchant.merchantId} and idempotency_key = ${key}`;
}

test('webhook endpoint: the same key twice creates one endpoint and answers the same bytes, secret included', async () => {
  const key = randomUUID();
  const body = endpointBody();
  const first = await send('POST', '/webhooks/endpoints', body, key);
  assert.equal(first.status, 201, first.text);
  assert.match(String(first.body['secret']), /^whsec_/);
  assert.equal(first.headers.get('idempotent-replayed'), null);
  const second = await send('POST', '/webhooks/endpoints', body, key);
  assert.equal(second.status, 201);
  assert.equal(second.text, first.text);
  assert.equal(second.headers.get('idempotent-replayed'), 'true');
  assert.equal(await endpointsWithUrl(body.url), 1);

  // The key table never holds the secret; the replay took it from the endpoint.
  const [row] = await keyRows('notifications', key);
  assert.ok(row, 'the key is stored');
  assert.ok(!row.line.includes(String(first.body['secret'])));
  assert.ok(!row.line.includes('whsec_'));
});

test('webhook endpoint: after a rotation a replay of the creation no longer shows a secret', async () => {
  const key = randomUUID();
  const body = endpointBody();
  const first = await send('POST', '/webhooks/endpoints', body, key);
  assert.equal(first.status, 201, first.text);
  const id = String(first.body['id']);
  const rotateKey = randomUUID();
  const rotated = await send('POST', `/webhooks/endpoints/${id}/rotate-secret`, undefined, rotateKey);
  assert.equal(rotated.status, 200, rotated.text);
  assert.notEqual(rotated.body['secret'], first.body['secret']);
  const rotatedAgain = await send('POST', `/webhooks/endpoints/${id}/rotate-secret`, undefined, rotateKey);
  assert.equal(rotatedAgain.text, rotated.text, 'the rotation replays its own, still current secret');

  const replay = await send('POST', '/webhooks/endpoints', body, key);
  assert.equal(replay.status, 201);
  assert.equal(replay.headers.get('idempotent-replayed'), 'true');
  const { secret: _secret, ...withoutSecret } = first.body;
  assert.deepEqual(replay.body, withoutSecret);
  assert.equal(await endpointsWithUrl(body.url), 1);
});

test('webhook endpoint: the same key with another body or on another route is 409 idempotency_key_reused', async () => {
  const key = randomUUID();
  const first = await send('POST', '/webhooks/endpoints', endpointBody(), key);
  assert.equal(first.status, 201, first.text);
  const otherBody = await send('POST', '/webhooks/endpoints', endpointBody(), key);
  assert.equal(otherBody.status, 409);
  assert.equal(otherBody.body['code'], 'idempotency_key_reused');
  const otherRoute = await send(
    'POST',
    `/webhooks/endpoints/${String(first.body['id'])}/enable`,
    undefined,
    key,
  );
  assert.equal(otherRoute.status, 409);
  assert.equal(otherRoute.body['code'], 'idempotency_key_reused');
});

test('webhook endpoint: concurrent requests with one key create one endpoint', async () => {
  const key = randomUUID();
  const body = endpointBody();
  const answers = await Promise.all(
    Array.from({ length: 6 }, () => send('POST', '/webhooks/endpoints', body, key)),
  );
  const created = answers.filter((answer) => answer.status === 201);
  assert.ok(created.length >= 1, answers.map((answer) => answer.text).join('\n'));
  assert.equal(new Set(created.map((answer) => answer.body['id'])).size, 1);
  for (const answer of answers.filter((each) => each.status !== 201)) {
    assert.equal(answer.status, 409);
    assert.equal(answer.body['code'], 'idempotency_key_in_use');
  }
  assert.equal(await endpointsWithUrl(body.url), 1);
});

test('a request whose key is held by an uncommitted first request gets 409 in use with Retry-After', async () => {
  const key = randomUUID();
  const body = endpointBody();
  const held = await server.database.sql.reserve();
  try {
    await held`begin`;
    await held`
      insert into notifications.idempotency_keys (merchant_id, idempotency_key, operation, request_fingerprint,
        locked_at, recovery_point, created_at, updated_at)
      values (${merchant.merchantId}, ${key}, 'create_endpoint', ${'0'.repeat(64)}, now(), 'started', now(), now())`;
    const waiting = await send('POST', '/webhooks/endpoints', body, key);
    assert.equal(waiting.status, 409, waiting.text);
    assert.equal(waiting.body['code'], 'idempotency_key_in_use');
    assert.equal(waiting.headers.get('retry-after'), '1');
    await held`rollback`;
  } finally {
    held.release();
  }
  // The first request never committed: its key is free again.
  const retried = await send('POST', '/webhooks/endpoints', body, key);
  assert.equal(retried.status, 201, retried.text);
  assert.equal(await endpointsWithUrl(body.url), 1);
});

test('webhook endpoint: a refused request stores nothing, so the key stays free for a corrected one', async () => {
  const key = randomUUID();
  const refused = await send(
    'POST',
    '/webhooks/endpoints',
    { ...endpointBody(), eventTypes: ['nope.v1'] },
    key,
  );
  assert.equal(refused.status, 422);
  const malformed = await send('POST', '/webhooks/endpoints', { url: 'http://127.0.0.1:9/x' }, key);
  assert.equal(malformed.status, 400);
  assert.equal((await keyRows('notifications', key)).length, 0);
  const missing = await send(
    'POST',
    '/webhooks/endpoints/we_00000000000000000000000000/rotate-secret',
    undefined,
    key,
  );
  assert.equal(missing.status, 404);
  assert.equal((await keyRows('notifications', key)).length, 0, 'a refusal in the work rolls the key back');
  const corrected = await send('POST', '/webhooks/endpoints', endpointBody(), key);
  assert.equal(corrected.status, 201, corrected.text);
});

test('webhook endpoint: without a key every request acts as before; a malformed key is 400', async () => {
  const body = endpointBody();
  const first = await send('POST', '/webhooks/endpoints', body, undefined);
  const second = await send('POST', '/webhooks/endpoints', body, undefined);
  assert.deepEqual([first.status, second.status], [201, 201]);
  assert.notEqual(first.body['id'], second.body['id']);
  assert.notEqual(first.body['secret'], second.body['secret']);
  assert.equal(await endpointsWithUrl(body.url), 2);
  const invalid = await send('POST', '/webhooks/endpoints', endpointBody(), 'has space');
  assert.equal(invalid.status, 400);
  assert.equal(invalid.body['code'], 'idempotency_key_invalid');

  const id = String(first.body['id']);
  const deleteKey = randomUUID();
  const deleted = await send('DELETE', `/webhooks/endpoints/${id}`, undefined, deleteKey);
  assert.equal(deleted.status, 204);
  const replayed = await send('DELETE', `/webhooks/endpoints/${id}`, undefined, deleteKey);
  assert.equal(replayed.status, 204);
  assert.equal(replayed.headers.get('idempotent-replayed'), 'true');
  assert.equal((await send('DELETE', `/webhooks/endpoints/${id}`, undefined, undefined)).status, 404);
});

test('the reaper deletes finished keys older than the retention and keeps younger ones', async () => {
  const old = randomUUID();
  const young = randomUUID();
  for (const key of [old, young])
    assert.equal((await send('POST', '/webhooks/endpoints', endpointBody(), key)).status, 201);
  await server.database.sql`
    update notifications.idempotency_keys set finished_at = now() - interval '25 hours'
    where merchant_id = ${merchant.merchantId} and idempotency_key = ${old}`;
  const job = keyReaperJob({
    name: 'test.reaper',
    sql: server.database.sql,
    table: 'notifications.idempotency_keys',
    retentionHours: 24,
    now: () => new Date(),
    log: createLogger({ level: 'silent' }),
  });
  await job.run(new AbortController().signal);
  assert.equal((await keyRows('notifications', old)).length, 0);
  assert.equal((await keyRows('notifications', young)).length, 1);
});

const card = {
  number: '4000056655665556',
  expMonth: 11,
  expYear: 2033,
  cvc: '731',
  holderName: 'Quillon Marsh',
};

async function tokenCount(): Promise<number> {
  const [row] = await server.database.sql<{ count: number }[]>`
    select count(*)::int as count from vault.card_tokens where merchant_id = ${merchant.merchantId}`;
  return row!.count;
}

test('POST /tokens: the same key and card give the same token once; another card is 409', async () => {
  const key = randomUUID();
  const before = await tokenCount();
  const first = await send('POST', '/tokens', { card }, key, merchant.publishableToken);
  assert.equal(first.status, 201, first.text);
  const second = await send('POST', '/tokens', { card }, key, merchant.publishableToken);
  assert.equal(second.status, 201);
  assert.equal(second.text, first.text);
  assert.equal(second.headers.get('idempotent-replayed'), 'true');
  assert.equal(await tokenCount(), before + 1);

  const otherCard = await send(
    'POST',
    '/tokens',
    { card: { ...card, number: '4242424242424242' } },
    key,
    merchant.publishableToken,
  );
  assert.equal(otherCard.status, 409);
  assert.equal(otherCard.body['code'], 'idempotency_key_reused');
  assert.equal(await tokenCount(), before + 1);

  // The CVC is in no fingerprint: a retry that differs only in it gets the first token.
  const otherCvc = await send(
    'POST',
    '/tokens',
    { card: { ...card, cvc: '123' } },
    key,
    merchant.publishableToken,
  );
  assert.equal(otherCvc.text, first.text);

  const [row] = await keyRows('vault', key);
  assert.ok(row, 'the key is stored');
  for (const form of [card.number, card.holderName, `"${card.cvc}"`, `,${card.cvc},`, `(${card.cvc},`])
    assert.ok(!row.line.includes(form), `the key row holds ${form}`);
  const stored = JSON.parse(row.response_body ?? '{}') as Record<string, unknown>;
  assert.deepEqual(Object.keys(stored).sort(), ['card', 'token']);
  assert.deepEqual(Object.keys(stored['card'] as object).sort(), [
    'bin',
    'brand',
    'expMonth',
    'expYear',
    'fingerprint',
    'last4',
  ]);
});

test('POST /tokens: without a key each request makes a token; a refused card stores no key', async () => {
  const before = await tokenCount();
  const first = await send('POST', '/tokens', { card }, undefined, merchant.publishableToken);
  const second = await send('POST', '/tokens', { card }, undefined, merchant.publishableToken);
  assert.deepEqual([first.status, second.status], [201, 201]);
  assert.notEqual(first.body['token'], second.body['token']);
  assert.equal(await tokenCount(), before + 2);

  const key = randomUUID();
  const expired = await send(
    'POST',
    '/tokens',
    { card: { ...card, expYear: 2021, expMonth: 1 } },
    key,
    merchant.publishableToken,
  );
  assert.equal(expired.status, 422);
  assert.equal((await keyRows('vault', key)).length, 0);
  const corrected = await send('POST', '/tokens', { card }, key, merchant.publishableToken);
  assert.equal(corrected.status, 201, corrected.text);
});
