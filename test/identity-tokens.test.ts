// The token endpoint and the bearer authenticator against a real server and database: issuance in
// every accepted shape, and every way a token or a token request is rejected.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, createHmac } from 'node:crypto';
import { SignJWT, decodeProtectedHeader, generateKeyPair, importJWK, type JWK } from 'jose';
import { startTestServer, testSecretsKey, type TestServer } from './support/server.ts';
import { createSecretSealer, parseSecretsKey } from '../src/platform/secrets.ts';
import { adminToken, createMerchantCredentials, fetchToken, merchantSession } from './support/identity.ts';
import type { MerchantCredentials } from '../src/modules/identity/index.ts';

let server: TestServer;
let merchant: MerchantCredentials;

before(async () => {
  server = await startTestServer();
  merchant = await createMerchantCredentials(server.database.sql, 'Token Test Shop');
});
after(async () => {
  await server.close();
});

function basic(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;
}

async function tokenRequest(init: { headers?: Record<string, string>; body: string }) {
  const response = await fetch(`${server.baseUrl}/oauth/token`, { method: 'POST', ...init });
  return { response, body: (await response.json()) as Record<string, unknown> };
}

/** A call to the route that only authenticates and echoes the caller. */
async function probe(token: string | undefined): Promise<Response> {
  return fetch(`${server.baseUrl}/v1/identity/whoami`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
}

function payload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

async function assertRejected(token: string, message: string): Promise<void> {
  const response = await probe(token);
  assert.equal(response.status, 401, message);
  assert.match(response.headers.get('content-type') ?? '', /application\/problem\+json/, message);
  assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer .*error="invalid_token"/, message);
  const body = (await response.json()) as { code: string };
  assert.equal(body.code, 'invalid_token', message);
}

test('form body with HTTP Basic issues a bearer token with the documented claims', async () => {
  const { response, body } = await tokenRequest({
    headers: {
      authorization: basic(merchant.clientId, merchant.clientSecret),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('cache-control'), 'no-store');
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.expires_in, 900);
  assert.equal(
    body.scope,
    'payments:read payments:write refunds:write tokens:create tokens:read balance:read webhooks:read webhooks:write',
  );
  const token = body.access_token as string;
  const header = decodeProtectedHeader(token);
  assert.equal(header.alg, 'ES256');
  assert.match(String(header.kid), /^key_/);
  const claims = payload(token);
  assert.equal(claims.iss, 'payflow');
  assert.equal(claims.aud, 'payflow-api');
  assert.equal(claims.sub, merchant.clientId);
  assert.equal(claims.merchant_id, merchant.merchantId);
  assert.equal(claims.role, 'merchant');
  for (const claim of ['iat', 'nbf', 'exp', 'jti']) assert.ok(claim in claims, claim);
  assert.equal(Number(claims.exp) - Number(claims.iat), 900);
  const whoami = await probe(token);
  assert.equal(whoami.status, 200);
  assert.deepEqual(await whoami.json(), {
    clientId: merchant.clientId,
    role: 'merchant',
    merchantId: merchant.merchantId,
    scopes: (body.scope as string).split(' '),
  });
});

test('JSON body with credentials in the body and a narrowed scope', async () => {
  const { response, body } = await tokenRequest({
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      grant_type: 'client_credentials',
      client_id: merchant.clientId,
      client_secret: merchant.clientSecret,
      scope: 'payments:read',
    }),
  });
  assert.equal(response.status, 200);
  assert.equal(body.scope, 'payments:read');
  assert.equal(payload(body.access_token as string).scope, 'payments:read');
});

test('form body with credentials in the body', async () => {
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: merchant.clientId,
    client_secret: merchant.clientSecret,
  });
  const { response } = await tokenRequest({
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  assert.equal(response.status, 200);
});

test('a publishable key gets a tokens:create-only token without a secret', async () => {
  const token = await fetchToken(server.baseUrl, merchant.publishableKey, undefined);
  const claims = payload(token);
  assert.equal(claims.role, 'publishable');
  assert.equal(claims.scope, 'tokens:create');
  assert.equal(claims.merchant_id, merchant.merchantId);
  const wider = await tokenRequest({
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      grant_type: 'client_credentials',
      client_id: merchant.publishableKey,
      scope: 'payments:read',
    }),
  });
  assert.equal(wider.response.status, 400);
  assert.equal(wider.body.error, 'invalid_scope');
});

test('token request errors follow RFC 6749', async () => {
  const json = { 'content-type': 'application/json' };
  const cases: {
    name: string;
    headers: Record<string, string>;
    body: Record<string, string>;
    status: number;
    error: string;
  }[] = [
    {
      name: 'wrong secret',
      headers: json,
      body: { grant_type: 'client_credentials', client_id: merchant.clientId, client_secret: 'sk_wrong' },
      status: 401,
      error: 'invalid_client',
    },
    {
      name: 'unknown client',
      headers: json,
      body: {
        grant_type: 'client_credentials',
        client_id: 'cli_00000000000000000000000000',
        client_secret: 'sk_x',
      },
      status: 401,
      error: 'invalid_client',
    },
    {
      name: 'no secret for a confidential client',
      headers: json,
      body: { grant_type: 'client_credentials', client_id: merchant.clientId },
      status: 401,
      error: 'invalid_client',
    },
    {
      name: 'wrong secret over Basic',
      headers: { ...json, authorization: basic(merchant.clientId, 'nope') },
      body: { grant_type: 'client_credentials' },
      status: 401,
      error: 'invalid_client',
    },
    {
      name: 'password grant',
      headers: json,
      body: { grant_type: 'password', client_id: merchant.clientId, client_secret: merchant.clientSecret },
      status: 400,
      error: 'unsupported_grant_type',
    },
    {
      name: 'no grant type',
      headers: json,
      body: { client_id: merchant.clientId, client_secret: merchant.clientSecret },
      status: 400,
      error: 'invalid_request',
    },
    {
      name: 'admin scope for a merchant',
      headers: json,
      body: {
        grant_type: 'client_credentials',
        client_id: merchant.clientId,
        client_secret: merchant.clientSecret,
        scope: 'payments:read admin:read',
      },
      status: 400,
      error: 'invalid_scope',
    },
  ];
  for (const item of cases) {
    const { response, body } = await tokenRequest({ headers: item.headers, body: JSON.stringify(item.body) });
    assert.equal(response.status, item.status, item.name);
    assert.equal(body.error, item.error, item.name);
    assert.equal(body.code, item.error, item.name);
    assert.equal(typeof body.error_description, 'string', item.name);
    assert.match(response.headers.get('content-type') ?? '', /json/, item.name);
    if (item.status === 401)
      assert.match(response.headers.get('www-authenticate') ?? '', /^Basic/, item.name);
    assert.ok(!JSON.stringify(body).includes(merchant.clientSecret), item.name);
  }
});

test('a repeated form parameter is invalid_request', async () => {
  const { response, body } = await tokenRequest({
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=client_credentials&grant_type=password&client_id=${merchant.clientId}`,
  });
  assert.equal(response.status, 400);
  assert.equal(body.error, 'invalid_request');
});

test('no token, or a malformed header, is a 401 problem with WWW-Authenticate', async () => {
  const none = await probe(undefined);
  assert.equal(none.status, 401);
  assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer /);
  assert.match(none.headers.get('content-type') ?? '', /application\/problem\+json/);
  const basicHeader = await fetch(`${server.baseUrl}/v1/identity/whoami`, {
    headers: { authorization: basic(merchant.clientId, merchant.clientSecret) },
  });
  assert.equal(basicHeader.status, 401);
  await assertRejected('not-a-jwt', 'garbage');
});

/**
 * The server's active signing key as a jose key (read from the identity schema and unsealed with the
 * secrets key the test server runs with) to forge tokens.
 */
async function serverKey(): Promise<{ kid: string; privateJwk: JWK; publicJwk: JWK }> {
  const [row] = await server.database.sql<{ kid: string; private_jwk_sealed: string; public_jwk: JWK }[]>`
    select kid, private_jwk_sealed, public_jwk from identity.signing_keys where status = 'active'`;
  assert.ok(row);
  const sealer = createSecretSealer(parseSecretsKey(testSecretsKey)!);
  const privateJwk = JSON.parse(
    sealer.unseal(row.private_jwk_sealed, {
      table: 'identity.signing_keys',
      id: row.kid,
      column: 'private_jwk_sealed',
    }),
  ) as JWK;
  return { kid: row.kid, privateJwk, publicJwk: row.public_jwk };
}

async function forge(overrides: {
  iss?: string;
  aud?: string;
  exp?: number;
  nbf?: number;
  kid?: string;
}): Promise<string> {
  const key = await serverKey();
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: 'merchant', scope: 'payments:read', merchant_id: merchant.merchantId })
    .setProtectedHeader({ alg: 'ES256', kid: overrides.kid ?? key.kid, typ: 'at+jwt' })
    .setIssuer(overrides.iss ?? 'payflow')
    .setAudience(overrides.aud ?? 'payflow-api')
    .setSubject(merchant.clientId)
    .setIssuedAt(now)
    .setNotBefore(overrides.nbf ?? now)
    .setExpirationTime(overrides.exp ?? now + 300)
    .setJti('forged')
    .sign(await importJWK(key.privateJwk, 'ES256'));
}

test('a correctly signed forged token is accepted (the forging helper is sound)', async () => {
  const response = await probe(await forge({}));
  assert.equal(response.status, 200);
});

test('expired, not yet valid, wrong issuer and wrong audience are rejected', async () => {
  const now = Math.floor(Date.now() / 1000);
  await assertRejected(await forge({ exp: now - 120 }), 'expired');
  await assertRejected(await forge({ nbf: now + 600, exp: now + 900 }), 'not yet valid');
  await assertRejected(await forge({ iss: 'https://evil.example' }), 'wrong iss');
  await assertRejected(await forge({ aud: 'someone-else' }), 'wrong aud');
  await assertRejected(await forge({ kid: 'key_00000000000000000000000000' }), 'unknown kid');
});

test('alg none, HS256 keyed with the public key, and a tampered payload are rejected', async () => {
  const genuine = await fetchToken(server.baseUrl, merchant.clientId, merchant.clientSecret);
  const [headerPart, payloadPart, signature] = genuine.split('.') as [string, string, string];
  const claims = payload(genuine);
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const kid = decodeProtectedHeader(genuine).kid;

  const none = `${encode({ alg: 'none', kid, typ: 'JWT' })}.${payloadPart}.`;
  await assertRejected(none, 'alg none');

  const key = await serverKey();
  const publicPem = createPublicKey({ key: key.publicJwk, format: 'jwk' } as never)
    .export({ type: 'spki', format: 'pem' })
    .toString();
  const hsHeader = encode({ alg: 'HS256', kid, typ: 'JWT' });
  const hsSignature = createHmac('sha256', publicPem)
    .update(`${hsHeader}.${payloadPart}`)
    .digest('base64url');
  await assertRejected(`${hsHeader}.${payloadPart}.${hsSignature}`, 'HS256 with public key');

  const tampered = encode({ ...claims, merchant_id: 'mer_00000000000000000000000000' });
  await assertRejected(`${headerPart}.${tampered}.${signature}`, 'tampered payload');

  // A token signed by a key PayFlow never issued, under the real kid.
  const foreign = await generateKeyPair('ES256');
  const foreignToken = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: String(kid) })
    .sign(foreign.privateKey);
  await assertRejected(foreignToken, 'foreign key');
});

test('a missing scope is 403: merchant and publishable tokens cannot reach admin routes', async () => {
  const session = await merchantSession(server);
  for (const token of [session.token, session.publishableToken]) {
    const response = await fetch(`${server.baseUrl}/v1/admin/signing-keys`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(response.status, 403);
    assert.equal(((await response.json()) as { code: string }).code, 'insufficient_scope');
  }
  const admin = await adminToken(server);
  const adminCall = await fetch(`${server.baseUrl}/v1/admin/signing-keys`, {
    headers: { authorization: `Bearer ${admin}` },
  });
  assert.equal(adminCall.status, 200);
  const keys = (await adminCall.json()) as { data: { kid: string; status: string }[] };
  assert.ok(keys.data.some((key) => key.status === 'active'));
});

test('JWKS serves the public key of the active signing key and no private part', async () => {
  const response = await fetch(`${server.baseUrl}/.well-known/jwks.json`);
  assert.equal(response.status, 200);
  const body = (await response.json()) as { keys: Record<string, unknown>[] };
  const key = await serverKey();
  const served = body.keys.find((item) => item.kid === key.kid);
  assert.ok(served);
  assert.equal(served.alg, 'ES256');
  assert.equal(served.kty, 'EC');
  assert.ok(!('d' in served));
  assert.equal(served.x, key.publicJwk.x);
});
