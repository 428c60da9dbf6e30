// POST /tokens and GET /tokens/{token} through the real server: the 201 shape, precise validation
// codes that never echo the number, merchant scoping (another merchant's token → 404), and the
// publishable key allowed to tokenize but not to read.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './support/server.ts';
import { merchantSession, type MerchantSession } from './support/identity.ts';

let server: TestServer;
let merchant: MerchantSession;
let otherMerchant: MerchantSession;
const card = {
  number: '4242424242424242',
  expMonth: 12,
  expYear: 2030,
  cvc: '123',
  holderName: 'Ada Lovelace',
};

before(async () => {
  server = await startTestServer();
  merchant = await merchantSession(server, 'Vault merchant');
  otherMerchant = await merchantSession(server, 'Other merchant');
});
after(async () => {
  await server?.close();
});

function post(body: unknown, token: string, rawBody?: string) {
  return fetch(`${server.baseUrl}/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: rawBody ?? JSON.stringify(body),
  });
}

function get(tokenId: string, token: string) {
  return fetch(`${server.baseUrl}/tokens/${encodeURIComponent(tokenId)}`, {
    headers: { authorization: `Bearer ${token}` },
  });
}

test('a publishable key tokenizes a card: 201 with the token and the public description only', async () => {
  const response = await post({ card }, merchant.publishableToken);
  assert.equal(response.status, 201);
  const text = await response.text();
  assert.ok(!text.includes('4242424242424242') && !text.includes('Ada Lovelace') && !text.includes('"123"'));
  const body = JSON.parse(text) as { token: string; card: Record<string, unknown> };
  assert.deepEqual(Object.keys(body).sort(), ['card', 'token']);
  assert.match(body.token, /^tok_[0-9a-hjkmnp-tv-z]{26}$/);
  assert.deepEqual(Object.keys(body.card).sort(), [
    'bin',
    'brand',
    'expMonth',
    'expYear',
    'fingerprint',
    'last4',
  ]);
  assert.deepEqual(
    { ...body.card, fingerprint: undefined },
    { brand: 'visa', bin: '42424242', last4: '4242', expMonth: 12, expYear: 2030, fingerprint: undefined },
  );

  const read = await get(body.token, merchant.token);
  assert.equal(read.status, 200);
  assert.deepEqual(await read.json(), body);
});

test('a merchant token tokenizes a wallet payment', async () => {
  const wallet = {
    type: 'google_pay',
    networkToken: '4895370012003478',
    cryptogram: Buffer.alloc(20, 9).toString('base64'),
    expMonth: 3,
    expYear: 2031,
  };
  const response = await post({ wallet }, merchant.token);
  assert.equal(response.status, 201);
  const body = (await response.json()) as { token: string; wallet: unknown; card?: unknown };
  assert.deepEqual(body.wallet, {
    type: 'google_pay',
    brand: 'visa',
    last4: '3478',
    expMonth: 3,
    expYear: 2031,
  });
  assert.equal(body.card, undefined);
});

test('invalid cards get problem+json with a precise code and never the number', async () => {
  const cases: readonly [unknown, number, string][] = [
    [{ card: { ...card, number: '4242424242424241' } }, 422, 'invalid_number'],
    [{ card: { ...card, number: '4242 4242 4242 424x' } }, 422, 'invalid_number'],
    [{ card: { ...card, expMonth: 1, expYear: 2020 } }, 422, 'expired_card'],
    [{ card: { ...card, cvc: '1' } }, 422, 'invalid_cvc'],
    [{ card: { ...card, cvc: 123 } }, 422, 'invalid_cvc'],
    [{ card: { ...card, expMonth: 0 } }, 422, 'invalid_expiry_month'],
    [{ wallet: { type: 'apple_pay', networkToken: '4242424242424241' } }, 422, 'invalid_network_token'],
    [{ card, wallet: {} }, 400, 'invalid_request'],
    [{}, 400, 'invalid_request'],
    [[card], 400, 'validation_failed'],
    ['4242424242424242', 400, 'validation_failed'],
  ];
  for (const [body, status, code] of cases) {
    const response = await post(body, merchant.publishableToken);
    const text = await response.text();
    assert.equal(response.status, status, `${code}: ${text}`);
    assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal((JSON.parse(text) as { code: string }).code, code);
    assert.ok(!text.includes('4242424242424241') && !text.includes('424242424242'), text);
  }
  const malformed = await post(
    undefined,
    merchant.publishableToken,
    '{"card": {"number": "4242424242424242"',
  );
  assert.equal(malformed.status, 400);
  assert.ok(!(await malformed.text()).includes('4242424242424242'));
});

test("another merchant's token is 404, an unknown token is 404, and a publishable key cannot read", async () => {
  const created = (await (await post({ card }, merchant.token)).json()) as { token: string };
  const other = await get(created.token, otherMerchant.token);
  assert.equal(other.status, 404);
  assert.equal(((await other.json()) as { code: string }).code, 'token_not_found');
  assert.equal((await get('tok_00000000000000000000000000', merchant.token)).status, 404);
  assert.equal((await get('4242424242424242', merchant.token)).status, 404);
  const publishable = await get(created.token, merchant.publishableToken);
  assert.equal(publishable.status, 403);
  assert.equal(((await publishable.json()) as { code: string }).code, 'insufficient_scope');
  const anonymous = await fetch(`${server.baseUrl}/tokens/${created.token}`);
  assert.equal(anonymous.status, 401);
  const anonymousPost = await fetch(`${server.baseUrl}/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ card }),
  });
  assert.equal(anonymousPost.status, 401);
});
