// Disabling, enabling and rotating API clients through the real token endpoint and protected routes:
// a disabled client gets invalid_client exactly like an unknown one, every token it holds is refused
// (401 invalid_token) by every server process within revocationDelayMaxMs, re-enabling does not
// revive old tokens, a rotated secret kills the tokens issued with the old one, and each change is in
// identity.client_access_changes with who, when and why.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import {
  runCli,
  spawnServer,
  startTestServer,
  type SpawnedServer,
  type TestServer,
} from './support/server.ts';
import { adminToken, createMerchantCredentials, fetchToken } from './support/identity.ts';
import { eventually } from './support/eventually.ts';
import { revocationDelayMaxMs } from '../src/modules/identity/index.ts';

let server: TestServer;
const cleanups: (() => Promise<unknown>)[] = [];

before(async () => {
  server = await startTestServer();
});
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await server.close();
});

async function cli(databaseUrl: string, args: string[]): Promise<Record<string, unknown>> {
  const result = await runCli(args, { DATABASE_URL: databaseUrl });
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

async function tokenAnswer(
  baseUrl: string,
  clientId: string,
  clientSecret: string | undefined,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId });
  if (clientSecret !== undefined) form.set('client_secret', clientSecret);
  const response = await fetch(`${baseUrl}/oauth/token`, { method: 'POST', body: form });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function get(baseUrl: string, route: string, token: string): Promise<Response> {
  return fetch(`${baseUrl}${route}`, { headers: { authorization: `Bearer ${token}` } });
}

/** Asks until the token is refused, failing once revocationDelayMaxMs has passed since `sinceMs`. */
async function refusedWithinBound(baseUrl: string, token: string, sinceMs: number): Promise<Response> {
  for (;;) {
    const response = await get(baseUrl, '/v1/identity/whoami', token);
    if (response.status === 401) return response;
    await response.arrayBuffer();
    assert.equal(response.status, 200);
    const waitedMs = Date.now() - sinceMs;
    assert.ok(waitedMs <= revocationDelayMaxMs, `token still accepted ${waitedMs} ms after the revocation`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function assertInvalidToken(response: Response): Promise<void> {
  assert.equal(response.status, 401);
  assert.match(response.headers.get('content-type') ?? '', /application\/problem\+json/);
  assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer .*error="invalid_token"/);
  const body = (await response.json()) as { code: string; detail: string };
  assert.equal(body.code, 'invalid_token');
  assert.equal(body.detail, 'The access token is not valid.');
}

test('a disabled client gets invalid_client like an unknown one, and its tokens are refused', async () => {
  const merchant = await createMerchantCredentials(server.database.sql, 'Leaky Shop');
  const token = await fetchToken(server.baseUrl, merchant.clientId, merchant.clientSecret);
  const publishableToken = await fetchToken(server.baseUrl, merchant.publishableKey, undefined);
  assert.equal((await get(server.baseUrl, '/balance', token)).status, 200);

  const disabledAtMs = Date.now();
  const disabled = await cli(server.database.url, [
    'clients',
    'disable',
    merchant.clientId,
    '--reason',
    'secret key leaked in a public repository',
  ]);
  assert.equal(disabled.status, 'disabled');
  assert.equal(disabled.changed, true);
  assert.equal(disabled.disabledReason, 'secret key leaked in a public repository');

  await assertInvalidToken(await refusedWithinBound(server.baseUrl, token, disabledAtMs));
  await assertInvalidToken(await get(server.baseUrl, '/balance', token));
  // Only the disabled client is affected: the merchant's publishable key goes on working.
  assert.equal((await get(server.baseUrl, '/v1/identity/whoami', publishableToken)).status, 200);

  const refused = await tokenAnswer(server.baseUrl, merchant.clientId, merchant.clientSecret);
  const unknown = await tokenAnswer(server.baseUrl, 'cli_00000000000000000000000000', merchant.clientSecret);
  assert.equal(refused.status, 401);
  assert.equal(refused.body.error, 'invalid_client');
  const withoutRequestId = (body: Record<string, unknown>) => ({ ...body, requestId: undefined });
  assert.deepEqual(withoutRequestId(refused.body), withoutRequestId(unknown.body), 'nothing tells it exists');

  const again = await cli(server.database.url, ['clients', 'disable', merchant.clientId]);
  assert.equal(again.changed, false);
  assert.equal(again.disabledReason, 'secret key leaked in a public repository');
  const listed = (await cli(server.database.url, [
    'clients',
    'list',
    '--merchant',
    merchant.merchantId,
  ])) as unknown as {
    clientId: string;
    status: string;
  }[];
  assert.deepEqual(
    listed.map((client) => [client.clientId, client.status]).sort(),
    [
      [merchant.clientId, 'disabled'],
      [merchant.publishableKey, 'active'],
    ].sort(),
  );

  const enabled = await cli(server.database.url, [
    'clients',
    'enable',
    merchant.clientId,
    '--reason',
    'rotated',
  ]);
  assert.equal(enabled.status, 'active');
  assert.equal(enabled.disabledReason, null);
  const fresh = await fetchToken(server.baseUrl, merchant.clientId, merchant.clientSecret);
  assert.equal((await get(server.baseUrl, '/balance', fresh)).status, 200);
  await assertInvalidToken(await get(server.baseUrl, '/balance', token)); // enabling revives no old token

  const changes = await server.database.sql<{ action: string; actor: string; reason: string | null }[]>`
    select action, actor, reason from identity.client_access_changes
    where client_id = ${merchant.clientId} order by change_id`;
  assert.deepEqual(
    changes.map((change) => [change.action, change.reason]),
    [
      ['disabled', 'secret key leaked in a public repository'],
      ['enabled', 'rotated'],
    ],
  );
  for (const change of changes) assert.match(change.actor, /^cli(:.+)?$/);
});

test('rotate-secret: the old secret and the tokens issued with it stop working, the new ones work', async () => {
  const merchant = await createMerchantCredentials(server.database.sql, 'Rotating Shop');
  const old = await fetchToken(server.baseUrl, merchant.clientId, merchant.clientSecret);
  assert.equal((await get(server.baseUrl, '/balance', old)).status, 200);
  const rotatedAtMs = Date.now();
  const rotated = await cli(server.database.url, [
    'clients',
    'rotate-secret',
    merchant.clientId,
    '--reason',
    'scheduled',
  ]);
  await assertInvalidToken(await refusedWithinBound(server.baseUrl, old, rotatedAtMs));
  assert.equal((await tokenAnswer(server.baseUrl, merchant.clientId, merchant.clientSecret)).status, 401);
  const fresh = await fetchToken(server.baseUrl, merchant.clientId, String(rotated.clientSecret));
  assert.equal((await get(server.baseUrl, '/balance', fresh)).status, 200);
  const [change] = await server.database.sql<{ action: string; reason: string; token_generation: number }[]>`
    select action, reason, token_generation from identity.client_access_changes
    where client_id = ${merchant.clientId}`;
  assert.deepEqual(change, { action: 'secret_rotated', reason: 'scheduled', token_generation: 2 });
});

test('admin API: list, disable and enable need admin:clients; the audit names the admin client', async () => {
  const merchant = await createMerchantCredentials(server.database.sql, 'Admin Managed Shop');
  const token = await fetchToken(server.baseUrl, merchant.clientId, merchant.clientSecret);
  const admin = await adminToken(server);
  const post = (path: string, bearer: string, body?: unknown) =>
    fetch(`${server.baseUrl}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${bearer}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  const forbidden = await post(`/v1/admin/clients/${merchant.clientId}/disable`, token, {});
  assert.equal(forbidden.status, 403);
  assert.equal(((await forbidden.json()) as { code: string }).code, 'insufficient_scope');
  const missing = await post('/v1/admin/clients/cli_00000000000000000000000000/disable', admin, {});
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as { code: string }).code, 'client_not_found');
  const tooLong = await post(`/v1/admin/clients/${merchant.clientId}/disable`, admin, {
    reason: 'x'.repeat(501),
  });
  assert.equal(tooLong.status, 400);

  const disabledAtMs = Date.now();
  const disabled = await post(`/v1/admin/clients/${merchant.clientId}/disable`, admin, {
    reason: 'fraud review',
  });
  assert.equal(disabled.status, 200);
  assert.equal(((await disabled.json()) as { status: string }).status, 'disabled');
  await assertInvalidToken(await refusedWithinBound(server.baseUrl, token, disabledAtMs));
  const list = await get(server.baseUrl, `/v1/admin/clients?merchantId=${merchant.merchantId}`, admin);
  const { data } = (await list.json()) as {
    data: { clientId: string; status: string; disabledReason: string }[];
  };
  assert.deepEqual(
    data.find((client) => client.clientId === merchant.clientId),
    {
      ...data.find((client) => client.clientId === merchant.clientId)!,
      status: 'disabled',
      disabledReason: 'fraud review',
    },
  );
  const enabled = await post(`/v1/admin/clients/${merchant.clientId}/enable`, admin);
  assert.equal(enabled.status, 200);
  assert.equal(((await enabled.json()) as { status: string }).status, 'active');

  const adminClientId = (
    (await (await get(server.baseUrl, '/v1/identity/whoami', admin)).json()) as { clientId: string }
  ).clientId;
  const actors = await server.database.sql<{ actor: string }[]>`
    select actor from identity.client_access_changes where client_id = ${merchant.clientId} order by change_id`;
  assert.deepEqual(
    actors.map((row) => row.actor),
    [`client:${adminClientId}`, `client:${adminClientId}`],
  );
});

test('two server processes: a revocation through the CLI or straight in the database reaches both', async () => {
  const database: TestDatabase = await createTestDatabase();
  cleanups.push(() => database.drop());
  const env = {
    DATABASE_URL: database.url,
    SIMULATOR_PORT: '0',
    VAULT_MASTER_KEY: randomBytes(32).toString('hex'),
  };
  const first: SpawnedServer = await spawnServer(env);
  cleanups.push(() => first.stop());
  const second: SpawnedServer = await spawnServer(env);
  cleanups.push(() => second.stop());

  // Through the CLI: its NOTIFY wakes both processes.
  const merchant = await createMerchantCredentials(database.sql, 'Two Process Shop');
  const token = await fetchToken(first.baseUrl, merchant.clientId, merchant.clientSecret);
  assert.equal((await get(second.baseUrl, '/v1/identity/whoami', token)).status, 200);
  const disabledAtMs = Date.now();
  await cli(database.url, ['clients', 'disable', merchant.clientId, '--reason', 'leaked']);
  await assertInvalidToken(await refusedWithinBound(second.baseUrl, token, disabledAtMs));
  await assertInvalidToken(await refusedWithinBound(first.baseUrl, token, disabledAtMs));

  // Straight in the database without a NOTIFY (as if it were lost): the one-second poll finds it.
  const other = await createMerchantCredentials(database.sql, 'Quiet Revocation Shop');
  const otherToken = await fetchToken(second.baseUrl, other.clientId, other.clientSecret);
  assert.equal((await get(first.baseUrl, '/v1/identity/whoami', otherToken)).status, 200);
  const revokedAtMs = Date.now();
  await database.sql.begin(async (transaction) => {
    await transaction`lock table identity.client_access_changes in share row exclusive mode`;
    await transaction`
      update identity.clients set token_generation = token_generation + 1, disabled_at = now()
      where client_id = ${other.clientId}`;
    await transaction`
      insert into identity.client_access_changes (client_id, action, actor, reason, token_generation)
      values (${other.clientId}, 'disabled', 'test:sql', 'no notify', 2)`;
  });
  await assertInvalidToken(await refusedWithinBound(first.baseUrl, otherToken, revokedAtMs));
  await assertInvalidToken(await refusedWithinBound(second.baseUrl, otherToken, revokedAtMs));

  // Each refusal is logged with its reason and client id, never with the token. Log lines reach the
  // output up to 50 ms after they are written (the server buffers them): wait for both.
  await eventually("both refusals in the servers' log", () => {
    const logged = [...first.output, ...second.output].filter((line) =>
      line.includes('access token rejected'),
    );
    const disabled = logged.some(
      (line) => line.includes('"reason":"client disabled"') && line.includes(merchant.clientId),
    );
    return disabled && logged.some((line) => line.includes(other.clientId)) ? true : undefined;
  });
  for (const line of [...first.output, ...second.output]) {
    assert.ok(!line.includes(token) && !line.includes(otherToken), 'a log line carries an access token');
    assert.ok(!line.includes(token.split('.')[2]!), 'a log line carries a token signature');
  }
});
