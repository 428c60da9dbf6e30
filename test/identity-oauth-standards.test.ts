// The token endpoint as a strict standards client sees it (oauth4webapi): RFC 8414 metadata, a
// successful client-credentials grant, RFC 6749 §5.2 errors as application/json that the client can
// read, and RFC 6750 §3.1's bare challenge when a protected route gets no credentials.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import { startTestServer, type TestServer } from './support/server.ts';
import { createMerchantCredentials } from './support/identity.ts';
import type { MerchantCredentials } from '../src/modules/identity/index.ts';

let server: TestServer;
let merchant: MerchantCredentials;

before(async () => {
  server = await startTestServer();
  merchant = await createMerchantCredentials(server.database.sql);
});
after(async () => {
  await server.close();
});

async function metadata(): Promise<oauth.AuthorizationServer> {
  const response = await fetch(`${server.baseUrl}/.well-known/oauth-authorization-server`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  return (await response.json()) as oauth.AuthorizationServer;
}

const insecure = { [oauth.allowInsecureRequests]: true };

test('RFC 8414 metadata names the token endpoint, the JWKS and the client-credentials grant', async () => {
  const as = await metadata();
  assert.equal(as.issuer, 'payflow');
  assert.equal(as.token_endpoint, `${server.baseUrl}/oauth/token`);
  assert.equal(as.jwks_uri, `${server.baseUrl}/.well-known/jwks.json`);
  assert.deepEqual(as.grant_types_supported, ['client_credentials']);
  assert.ok(as.scopes_supported?.includes('payments:write'));
  const jwks = await fetch(as.jwks_uri!);
  assert.equal(jwks.status, 200);
});

test('a standards client gets a token, and reads invalid_scope and invalid_client as OAuth errors', async () => {
  const as = await metadata();
  const client: oauth.Client = { client_id: merchant.clientId };
  const granted = await oauth.clientCredentialsGrantRequest(
    as,
    client,
    oauth.ClientSecretBasic(merchant.clientSecret),
    new URLSearchParams({ scope: 'payments:read' }),
    insecure,
  );
  const token = await oauth.processClientCredentialsResponse(as, client, granted);
  assert.equal(token.token_type, 'bearer');
  assert.equal(token.scope, 'payments:read');

  const refused = await oauth.clientCredentialsGrantRequest(
    as,
    client,
    oauth.ClientSecretBasic(merchant.clientSecret),
    new URLSearchParams({ scope: 'admin:keys' }),
    insecure,
  );
  assert.match(refused.headers.get('content-type') ?? '', /^application\/json/);
  await assert.rejects(oauth.processClientCredentialsResponse(as, client, refused), (error: unknown) => {
    assert.ok(error instanceof oauth.ResponseBodyError, String(error));
    assert.equal(error.error, 'invalid_scope');
    assert.equal(error.status, 400);
    return true;
  });

  const wrongSecret = await oauth.clientCredentialsGrantRequest(
    as,
    client,
    oauth.ClientSecretPost('not-the-secret'),
    new URLSearchParams(),
    insecure,
  );
  assert.equal(wrongSecret.status, 401);
  assert.match(wrongSecret.headers.get('content-type') ?? '', /^application\/json/);
  const body = (await wrongSecret.json()) as Record<string, unknown>;
  assert.equal(body.error, 'invalid_client');
  assert.equal(body.code, 'invalid_client', 'the problem members stay in the body');
});

test('no credentials on a protected route: a bare Bearer challenge (RFC 6750 §3.1); a bad token: invalid_token', async () => {
  const none = await fetch(`${server.baseUrl}/payments`);
  assert.equal(none.status, 401);
  assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="payflow"');
  const bad = await fetch(`${server.baseUrl}/payments`, { headers: { authorization: 'Bearer abc.def.ghi' } });
  assert.equal(bad.status, 401);
  assert.match(bad.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
});
