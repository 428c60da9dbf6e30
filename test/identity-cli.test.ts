// The identity CLI and key rotation against a running server: merchants and operator clients made by
// `payflow`, secret rotation, signing-key rotation (old tokens keep verifying, new ones carry the new
// kid), and the demo merchant written on first start.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { runCli, spawnServer, startTestServer, temporaryDataDir, type TestServer } from './support/server.ts';
import { fetchToken } from './support/identity.ts';

let server: TestServer;
const cleanups: (() => Promise<unknown>)[] = [];

before(async () => {
  server = await startTestServer();
});
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await server.close();
});

async function cli(args: string[]): Promise<Record<string, unknown>> {
  const result = await runCli(args, { DATABASE_URL: server.database.url });
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

async function tokenStatus(clientId: string, clientSecret: string): Promise<number> {
  const response = await fetch(`${server.baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
    }),
  });
  await response.arrayBuffer();
  return response.status;
}

async function whoami(token: string): Promise<Response> {
  return fetch(`${server.baseUrl}/v1/identity/whoami`, { headers: { authorization: `Bearer ${token}` } });
}

test('payflow merchants create prints working credentials; the secret is stored only as a hash', async () => {
  const created = await cli(['merchants', 'create', '--name', 'Acme']);
  assert.match(String(created.merchantId), /^mer_/);
  assert.match(String(created.clientId), /^cli_/);
  assert.match(String(created.clientSecret), /^sk_/);
  assert.match(String(created.publishableKey), /^pk_/);
  const token = await fetchToken(server.baseUrl, String(created.clientId), String(created.clientSecret));
  const me = (await (await whoami(token)).json()) as { merchantId: string; role: string };
  assert.deepEqual([me.merchantId, me.role], [created.merchantId, 'merchant']);
  const [row] = await server.database.sql<{ secret_hash: string }[]>`
    select secret_hash from identity.clients where client_id = ${String(created.clientId)}`;
  assert.ok(row);
  assert.match(row.secret_hash, /^scrypt\$16384\$8\$1\$/);
  assert.ok(!row.secret_hash.includes(String(created.clientSecret)));
});

test('merchants create --email stores the contact email; an invalid one is refused with its code', async () => {
  const created = await cli(['merchants', 'create', '--name', 'Mailed', '--email', 'ops@mailed.example']);
  const [row] = await server.database.sql<{ email: string | null }[]>`
    select email from identity.merchants where merchant_id = ${String(created.merchantId)}`;
  assert.equal(row?.email, 'ops@mailed.example');
  const withoutEmail = await cli(['merchants', 'create', '--name', 'Quiet']);
  const [quiet] = await server.database.sql<{ email: string | null }[]>`
    select email from identity.merchants where merchant_id = ${String(withoutEmail.merchantId)}`;
  assert.equal(quiet?.email, null);
  const invalid = await runCli(['merchants', 'create', '--name', 'Bad', '--email', 'not an address'], {
    DATABASE_URL: server.database.url,
  });
  assert.equal(invalid.code, 1);
  assert.match(invalid.stderr, /invalid_merchant_email/);
  const [count] = await server.database.sql<{ count: bigint }[]>`
    select count(*) from identity.merchants where name = 'Bad'`;
  assert.equal(count?.count, 0n);
});

test('merchants create without --name, or with an unknown role, fails with one line', async () => {
  const noName = await runCli(['merchants', 'create'], { DATABASE_URL: server.database.url });
  assert.equal(noName.code, 2);
  assert.match(noName.stderr, /--name/);
  const badRole = await runCli(['clients', 'create', '--role', 'root'], {
    DATABASE_URL: server.database.url,
  });
  assert.equal(badRole.code, 2);
  assert.match(badRole.stderr, /--role merchant\|admin\|service/);
});

test('payflow clients create --role admin makes an operator client with admin scopes and no merchant', async () => {
  const created = await cli(['clients', 'create', '--role', 'admin']);
  assert.equal(created.role, 'admin');
  const token = await fetchToken(server.baseUrl, String(created.clientId), String(created.clientSecret));
  const me = (await (await whoami(token)).json()) as {
    merchantId: string | null;
    role: string;
    scopes: string[];
  };
  assert.equal(me.role, 'admin');
  assert.equal(me.merchantId, null);
  assert.ok(me.scopes.includes('admin:keys'));
  assert.ok(!me.scopes.includes('payments:write'));
});

test('service clients get role service tokens', async () => {
  const created = await cli(['clients', 'create', '--role', 'service', '--description', 'worker']);
  const token = await fetchToken(server.baseUrl, String(created.clientId), String(created.clientSecret));
  const me = (await (await whoami(token)).json()) as { role: string; scopes: string[] };
  assert.equal(me.role, 'service');
  assert.ok(me.scopes.includes('service'));
});

test('payflow clients rotate-secret: the new secret works and the old one is invalid_client', async () => {
  const created = await cli(['clients', 'create', '--role', 'admin']);
  const oldSecret = String(created.clientSecret);
  const rotated = await cli(['clients', 'rotate-secret', String(created.clientId)]);
  assert.equal(rotated.clientId, created.clientId);
  assert.notEqual(rotated.clientSecret, oldSecret);
  assert.equal(await tokenStatus(String(created.clientId), oldSecret), 401);
  assert.equal(await tokenStatus(String(created.clientId), String(rotated.clientSecret)), 200);
  const unknown = await runCli(['clients', 'rotate-secret', 'cli_00000000000000000000000000'], {
    DATABASE_URL: server.database.url,
  });
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /client_not_found/);
});

test('payflow keys rotate: tokens signed before still verify, new tokens carry the new kid', async () => {
  const merchant = await cli(['merchants', 'create', '--name', 'Rotation Shop']);
  const before = await fetchToken(server.baseUrl, String(merchant.clientId), String(merchant.clientSecret));
  const oldKid = decodeProtectedHeader(before).kid;
  const rotated = await cli(['keys', 'rotate']);
  assert.equal(rotated.previousKid, oldKid);
  assert.notEqual(rotated.kid, oldKid);
  const afterRotation = await fetchToken(
    server.baseUrl,
    String(merchant.clientId),
    String(merchant.clientSecret),
  );
  assert.equal(decodeProtectedHeader(afterRotation).kid, rotated.kid);
  assert.equal((await whoami(before)).status, 200, 'a token of the retiring key still verifies');
  assert.equal((await whoami(afterRotation)).status, 200);
  const jwks = (await (await fetch(`${server.baseUrl}/.well-known/jwks.json`)).json()) as {
    keys: { kid: string }[];
  };
  assert.deepEqual(new Set(jwks.keys.map((key) => key.kid)), new Set([oldKid, rotated.kid]));
  const keys = (await cli(['keys', 'list'])) as unknown as {
    kid: string;
    status: string;
    createdAt: string;
    notAfter: string | null;
  }[];
  const retiring = keys.find((key) => key.kid === oldKid);
  const active = keys.find((key) => key.kid === rotated.kid);
  assert.equal(retiring?.status, 'retiring');
  assert.ok(active?.createdAt && retiring.notAfter);
  // The old key verifies until its last token expires: token lifetime (900 s) plus leeway (30 s).
  assert.equal(Date.parse(retiring.notAfter) - Date.parse(active.createdAt), 930_000);
  assert.equal(keys.find((key) => key.kid === rotated.kid)?.status, 'active');
});

test('the demo merchant: created once on first start, credentials printed and written with mode 0600', async () => {
  const database: TestDatabase = await createTestDatabase();
  cleanups.push(() => database.drop());
  const dataDir = temporaryDataDir();
  const env = {
    DATABASE_URL: database.url,
    DEMO_MERCHANT: 'true',
    PAYFLOW_DATA_DIR: dataDir,
    SIMULATOR_PORT: '0',
    VAULT_MASTER_KEY: randomBytes(32).toString('hex'),
  };
  const first = await spawnServer(env);
  const file = path.join(dataDir, 'demo-credentials.json');
  try {
    assert.ok(existsSync(file));
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const credentials = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    assert.ok(
      first.output.some((line) => line.includes(credentials.clientSecret!)),
      'printed on start',
    );
    const token = await fetchToken(first.baseUrl, credentials.clientId!, credentials.clientSecret!);
    const me = await fetch(`${first.baseUrl}/v1/identity/whoami`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(((await me.json()) as { merchantId: string }).merchantId, credentials.merchantId);
    // The demo merchant's dashboard owner: its password is in the same file, and it signs in.
    assert.equal(credentials.dashboardEmail, 'demo@payflow.local');
    assert.ok(
      first.output.some((line) => line.includes(credentials.dashboardPassword!)),
      'printed on start',
    );
    const signIn = await fetch(`${first.baseUrl}/dashboard/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: credentials.dashboardEmail, password: credentials.dashboardPassword }),
    });
    assert.equal(signIn.status, 200);
  } finally {
    await first.stop();
  }
  const second = await spawnServer(env);
  await second.stop();
  const merchants = await database.sql<{ email: string | null }[]>`select email from identity.merchants`;
  assert.equal(merchants.length, 1, 'a later start creates no second demo merchant');
  assert.equal(merchants[0]!.email, 'demo@payflow.local');
  const users = await database.sql`select 1 from identity.dashboard_users`;
  assert.equal(users.length, 1, 'a later start creates no second demo user');
});

test('with DATABASE_URL set and DEMO_MERCHANT unset no demo merchant is created', async () => {
  const dataDir = temporaryDataDir();
  const running = await startTestServer({ env: { PAYFLOW_DATA_DIR: dataDir } });
  try {
    assert.equal(existsSync(path.join(dataDir, 'demo-credentials.json')), false);
    const merchants = await running.database.sql`select 1 from identity.merchants`;
    assert.equal(merchants.length, 0);
  } finally {
    await running.close();
  }
});
