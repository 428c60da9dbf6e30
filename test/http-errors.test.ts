// The HTTP edge's error contract: every failure is application/problem+json with a stable code, and
// nothing from inside the process (messages, stacks) reaches a client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from 'typebox';
import { createHttpApp, type HttpApp } from '../src/platform/http/app.ts';
import { createLogger } from '../src/platform/log.ts';
import { DomainError } from '../src/platform/errors.ts';

let app: HttpApp;
let baseUrl: string;

before(async () => {
  app = await createHttpApp({
    log: createLogger({ level: 'silent' }),
    bodyLimitBytes: 1024,
    version: 'test',
  });
  app.post(
    '/echo',
    {
      schema: {
        body: Type.Object({ amount: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
      },
    },
    async (request) => request.body,
  );
  app.post(
    '/defaults',
    {
      schema: {
        body: Type.Object(
          { amount: Type.Optional(Type.Integer({ minimum: 1 })) },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => ({ received: request.body }),
  );
  app.post(
    '/items/:itemId',
    { schema: { params: Type.Object({ itemId: Type.String({ maxLength: 64 }) }) } },
    async () => ({ ok: true }),
  );
  app.get('/explode', async () => {
    throw new Error('secret internal detail at /srv/payflow/src/x.ts:12');
  });
  app.get('/conflict', async () => {
    throw new DomainError(
      'already_captured',
      409,
      'The payment was already captured.',
      {},
      { 'retry-after': '1' },
    );
  });
  app.get('/declined', async () => {
    throw new DomainError('card_declined', 422, 'Declined.', { status: 'FAILED', paymentId: 'pay_1' });
  });
  baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
});

after(async () => {
  await app.close();
});

async function problemFrom(response: Response) {
  assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
  return (await response.json()) as Record<string, unknown>;
}

test('unknown route → 404 problem with code route_not_found', async () => {
  const response = await fetch(`${baseUrl}/no/such/route`);
  assert.equal(response.status, 404);
  const body = await problemFrom(response);
  assert.equal(body.code, 'route_not_found');
  assert.equal(body.status, 404);
  assert.equal(body.requestId, response.headers.get('x-request-id'));
});

test('malformed JSON → 400 malformed_json', async () => {
  const response = await fetch(`${baseUrl}/echo`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"amount": ',
  });
  assert.equal(response.status, 400);
  assert.equal((await problemFrom(response)).code, 'malformed_json');
});

test('schema violations → 400 validation_failed with field paths', async () => {
  const response = await fetch(`${baseUrl}/echo`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ amount: 1.5, extra: true }),
  });
  assert.equal(response.status, 400);
  const body = await problemFrom(response);
  assert.equal(body.code, 'validation_failed');
  const errors = body.errors as { path: string }[];
  assert.ok(errors.some((error) => error.path === 'body/amount'));
});

test('a body over the limit → 413 body_too_large', async () => {
  const response = await fetch(`${baseUrl}/echo`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ amount: 1, padding: 'x'.repeat(4096) }),
  });
  assert.equal(response.status, 413);
  assert.equal((await problemFrom(response)).code, 'body_too_large');
});

test('a wrong content type → 415', async () => {
  const response = await fetch(`${baseUrl}/echo`, {
    method: 'POST',
    headers: { 'content-type': 'text/csv' },
    body: 'a,b',
  });
  assert.equal(response.status, 415);
  assert.equal((await problemFrom(response)).code, 'unsupported_media_type');
});

test('an unexpected error → 500 internal_error with no message or stack', async () => {
  const response = await fetch(`${baseUrl}/explode`);
  assert.equal(response.status, 500);
  const text = await response.text();
  assert.ok(!text.includes('secret internal detail'));
  assert.ok(!text.includes('.ts:'));
  assert.equal((JSON.parse(text) as { code: string }).code, 'internal_error');
});

test('a domain error keeps its status, code and headers', async () => {
  const response = await fetch(`${baseUrl}/conflict`);
  assert.equal(response.status, 409);
  assert.equal(response.headers.get('retry-after'), '1');
  assert.equal((await problemFrom(response)).code, 'already_captured');
});

test('a sane incoming x-request-id is kept; an unsafe one is replaced', async () => {
  const kept = await fetch(`${baseUrl}/no`, { headers: { 'x-request-id': 'abc-123' } });
  assert.equal(kept.headers.get('x-request-id'), 'abc-123');
  const replaced = await fetch(`${baseUrl}/no`, { headers: { 'x-request-id': 'bad id with spaces' } });
  assert.notEqual(replaced.headers.get('x-request-id'), 'bad id with spaces');
});

test('no body, or an empty JSON body, means no fields: the defaults apply', async () => {
  for (const init of [
    { method: 'POST' },
    { method: 'POST', headers: { 'content-type': 'application/json' }, body: '' },
  ]) {
    const response = await fetch(`${baseUrl}/defaults`, init);
    assert.equal(response.status, 200, await response.clone().text());
    assert.deepEqual(await response.json(), { received: {} });
  }
  const required = await fetch(`${baseUrl}/echo`, { method: 'POST' });
  assert.equal(required.status, 400);
  const body = await problemFrom(required);
  assert.equal(body.code, 'validation_failed');
  assert.ok(
    (body.errors as { path: string }[]).some((error) => error.path === 'body/amount'),
    'names the field',
  );
});

test('valid JSON sent as text/plain → 415, not a confusing validation error', async () => {
  const response = await fetch(`${baseUrl}/echo`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: '{"amount":1}',
  });
  assert.equal(response.status, 415);
  assert.equal((await problemFrom(response)).code, 'unsupported_media_type');
});

test('a lone UTF-16 surrogate anywhere in the body → 400 invalid_unicode naming where', async () => {
  for (const [raw, where] of [
    ['{"amount":1,"note":"\\ud800"}', '/note'],
    ['{"amount":1,"list":["ok","a\\udfffb"]}', '/list/1'],
    ['{"amount":1,"m":{"\\ud800":"x"}}', '/m/(key)'],
    ['{"4242424242424242":"\\ud800"}', '/(key)'],
    ['{"a/ 4242424242424242 ":{"b":"\\udfff"}}', '/(key)/b'],
  ] as const) {
    const response = await fetch(`${baseUrl}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: raw,
    });
    assert.equal(response.status, 400, raw);
    const body = await problemFrom(response);
    assert.equal(body.code, 'invalid_unicode', raw);
    assert.match(String(body.detail), new RegExp(where.replace(/[()]/g, '\\$&')), raw);
    assert.ok(!JSON.stringify(body).includes('4242424242'), `no key is echoed: ${raw}`);
  }
  const pair = await fetch(`${baseUrl}/defaults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"amount":1}',
  });
  assert.equal(pair.status, 200, 'well-formed bodies pass');
});

test('an over-long path parameter → 414 problem, echoing nothing', async () => {
  const long = 'x'.repeat(400);
  const response = await fetch(`${baseUrl}/items/${long}`, { method: 'POST' });
  assert.equal(response.status, 414);
  const text = await response.text();
  assert.ok(!text.includes(long.slice(0, 50)), 'the path is not echoed');
  assert.equal((JSON.parse(text) as { code: string }).code, 'path_too_long');
  assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
});

test('oversized headers → 431 problem, echoing nothing', async () => {
  const response = await fetch(`${baseUrl}/echo`, { headers: { 'x-padding': 'y'.repeat(20_000) } });
  assert.equal(response.status, 431);
  assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const text = await response.text();
  assert.ok(!text.includes('yyyy'));
  assert.equal((JSON.parse(text) as { code: string }).code, 'headers_too_large');
});

test('an extension never overwrites the problem member status', async () => {
  const response = await fetch(`${baseUrl}/declined`);
  assert.equal(response.status, 422);
  const body = await problemFrom(response);
  assert.equal(body.status, 422);
  assert.equal(body.paymentId, 'pay_1');
});
