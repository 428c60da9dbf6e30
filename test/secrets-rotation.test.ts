// `payflow secrets rotate-key` (ADR 16) against real PostgreSQL and a real `payflow start` process:
// the command puts a new key first in the keyring file and re-seals every signing key and webhook
// secret under it while the server keeps issuing tokens, creating endpoints and signing webhooks;
// afterwards the older key can leave the file (a server holding only it no longer starts), and a key
// from PAYFLOW_SECRETS_KEY is rotated in the documented steps (--new-key-file, then --reseal-only).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { runCli, spawnServer, type SpawnedServer } from './support/server.ts';
import { createMerchantCredentials, fetchToken, merchantSessionAt } from './support/identity.ts';
import { authorizeBody, call, paymentsEnv, startTestAcquirer, tokenize } from './support/payments.ts';
import { verifyWebhook } from '../src/webhooks.ts';
import { createSecretSealer, keyIdOf, parseSecretsKeys } from '../src/platform/secrets.ts';
import type { Sql } from '../src/platform/db/client.ts';
import type { RunningSimulator } from '../src/simulator/index.ts';
import { eventually } from './support/eventually.ts';

let acquirer: RunningSimulator;
const databases: TestDatabase[] = [];
const servers: SpawnedServer[] = [];
const closers: (() => Promise<void>)[] = [];
const vaultKey = randomBytes(32).toString('hex');

before(async () => {
  acquirer = await startTestAcquirer();
});
after(async () => {
  for (const server of servers) await server.stop();
  for (const close of closers) await close();
  for (const database of databases) await database.drop();
  await acquirer.close();
});

async function startReceiver(): Promise<{
  url: string;
  bodies: { headers: http.IncomingHttpHeaders; body: string }[];
}> {
  const bodies: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      bodies.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, bodies };
}

function keyFile(keys: readonly Buffer[]): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'payflow-secrets-rotation-')), 'secrets-key');
  writeFileSync(file, keys.map((key) => key.toString('base64')).join('\n') + '\n', { mode: 0o600 });
  return file;
}

const fileEnv = (file: string) => ({ PAYFLOW_SECRETS_KEY: '', PAYFLOW_SECRETS_KEY_FILE: file });

async function start(database: TestDatabase, file: string): Promise<SpawnedServer> {
  const server = await spawnServer({
    ...paymentsEnv(acquirer.url, {
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_POLL_INTERVAL_MS: '50',
      EVENTS_POLL_INTERVAL_MS: '50',
    }),
    DATABASE_URL: database.url,
    VAULT_MASTER_KEY: vaultKey,
    ...fileEnv(file),
  });
  servers.push(server);
  return server;
}

/** How many sealed values each key id holds, over every declared column. */
async function sealedByKey(sql: Sql): Promise<Map<string, number>> {
  const rows = await sql<{ value: string }[]>`
    select private_jwk_sealed as value from identity.signing_keys where private_jwk_sealed is not null
    union all
    select secret_sealed from notifications.webhook_endpoints where secret_sealed is not null
    union all
    select previous_secret_sealed from notifications.webhook_endpoints where previous_secret_sealed is not null`;
  const counts = new Map<string, number>();
  for (const { value } of rows) {
    const keyId = value.split('.')[1]!;
    counts.set(keyId, (counts.get(keyId) ?? 0) + 1);
  }
  return counts;
}

function verifies(message: { headers: http.IncomingHttpHeaders; body: string }, secret: string): boolean {
  try {
    verifyWebhook({ headers: message.headers, rawBody: message.body, secret });
    return true;
  } catch {
    return false;
  }
}

test('rotate-key re-seals everything under a new key while the server serves; then the old key can go', async () => {
  const database = await createTestDatabase();
  databases.push(database);
  const oldKey = randomBytes(32);
  const file = keyFile([oldKey]);
  const receiver = await startReceiver();
  let server = await start(database, file);
  const merchant = await merchantSessionAt(server.baseUrl, await createMerchantCredentials(database.sql));
  const created = await call(server.baseUrl, merchant, 'POST', '/webhooks/endpoints', {
    url: receiver.url,
    eventTypes: ['payment.authorized.v1'],
  });
  assert.equal(created.status, 201, created.text);
  const endpointId = created.body.id as string;
  const rotated = await call(
    server.baseUrl,
    merchant,
    'POST',
    `/webhooks/endpoints/${endpointId}/rotate-secret`,
    {},
    randomUUID(),
  );
  assert.equal(rotated.status, 200, rotated.text);
  const [firstSecret, secret] = [created.body.secret as string, rotated.body.secret as string];
  const before = await sealedByKey(database.sql);
  assert.deepEqual([...before.keys()], [keyIdOf(oldKey)]);
  assert.equal(before.get(keyIdOf(oldKey)), 3, 'a signing key, a current and a previous webhook secret');

  // The server keeps serving while the command runs: tokens and new endpoints, none may fail.
  let serving = true;
  const failures: string[] = [];
  let served = 0;
  const load = (async () => {
    while (serving) {
      let token: string | undefined;
      try {
        token = await fetchToken(server.baseUrl, merchant.clientId, merchant.clientSecret);
      } catch (error) {
        failures.push(`token: ${(error as Error).message}`);
      }
      const endpoint = await call(server.baseUrl, merchant, 'POST', '/webhooks/endpoints', {
        url: receiver.url,
        eventTypes: ['payment.captured.v1'],
      });
      if (endpoint.status !== 201) failures.push(`endpoint: ${endpoint.status} ${endpoint.text}`);
      if (token !== undefined && endpoint.status === 201) served += 1;
    }
  })();
  const rotation = await runCli(['secrets', 'rotate-key', '--batch-size', '2'], {
    DATABASE_URL: database.url,
    ...fileEnv(file),
  });
  serving = false;
  await load;
  assert.equal(rotation.code, 0, rotation.stdout + rotation.stderr);
  assert.deepEqual(failures, []);
  assert.ok(served > 0, 'requests were served during the rotation');
  const keys = parseSecretsKeys(readFileSync(file, 'utf8'));
  assert.equal(keys.length, 2);
  assert.deepEqual(keys[1], oldKey, 'the old key stays, second');
  const newKeyId = keyIdOf(keys[0]!);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.match(rotation.stdout, new RegExp(`^added key ${newKeyId} to `, 'm'));
  assert.match(
    rotation.stdout,
    new RegExp(`^done: \\d+ value\\(s\\) re-sealed; every sealed secret is under key ${newKeyId}`, 'm'),
  );
  const after = await sealedByKey(database.sql);
  assert.deepEqual([...after.keys()], [newKeyId], 'every sealed value, those the server wrote meanwhile too');
  assert.ok(after.get(newKeyId)! >= 3 + served);

  // The running server (started with the old key only) opens the re-sealed values: it signs webhooks
  // with the unchanged secrets and issues tokens.
  const card = await tokenize(server.baseUrl, merchant);
  const payment = await call(
    server.baseUrl,
    merchant,
    'POST',
    '/payments/authorize',
    authorizeBody(card, 1500),
  );
  assert.equal(payment.status, 201, payment.text);
  const paymentId = payment.body.paymentId as string;
  const message = await eventually('the webhook', () =>
    receiver.bodies.find(
      (entry) => entry.body.includes(paymentId) && entry.body.includes('payment.authorized.v1'),
    ),
  );
  assert.ok(verifies(message, secret) && verifies(message, firstSecret));

  // The old key leaves the file: a restart works on the new key alone; the old key alone is refused.
  await server.stop();
  writeFileSync(file, `${keys[0]!.toString('base64')}\n`, { mode: 0o600 });
  server = await start(database, file);
  const fresh = await fetchToken(server.baseUrl, merchant.clientId, merchant.clientSecret);
  const whoami = await fetch(`${server.baseUrl}/v1/identity/whoami`, {
    headers: { authorization: `Bearer ${fresh}` },
  });
  assert.equal(whoami.status, 200);
  const again = await call(
    server.baseUrl,
    merchant,
    'POST',
    '/payments/authorize',
    authorizeBody(card, 1600),
  );
  assert.equal(again.status, 201, again.text);
  const secondMessage = await eventually('the webhook after the restart', () =>
    receiver.bodies.find((entry) => entry.body.includes(again.body.paymentId as string)),
  );
  assert.ok(verifies(secondMessage, secret));
  await server.stop();
  await assert.rejects(
    start(database, keyFile([oldKey])),
    /does not unseal with this secrets key \(unknown_key\)/,
  );
});

test('a key from PAYFLOW_SECRETS_KEY: the command explains, writes the next keyring, then --reseal-only re-seals', async () => {
  const database = await createTestDatabase();
  databases.push(database);
  const oldKey = randomBytes(32);
  const environment = { DATABASE_URL: database.url, PAYFLOW_SECRETS_KEY: oldKey.toString('hex') };
  // A signing key exists once a command has made one.
  const signing = await runCli(['keys', 'rotate'], environment);
  assert.equal(signing.code, 0, signing.stderr);
  assert.deepEqual([...(await sealedByKey(database.sql)).keys()], [keyIdOf(oldKey)]);

  const explained = await runCli(['secrets', 'rotate-key'], environment);
  assert.equal(explained.code, 1);
  assert.match(explained.stdout, /comes from PAYFLOW_SECRETS_KEY, which this command cannot change/);
  assert.match(explained.stdout, /--reseal-only/);
  assert.deepEqual([...(await sealedByKey(database.sql)).keys()], [keyIdOf(oldKey)], 'nothing re-sealed');

  const target = path.join(mkdtempSync(path.join(os.tmpdir(), 'payflow-secrets-rotation-')), 'next-key');
  const written = await runCli(['secrets', 'rotate-key', '--new-key-file', target], environment);
  assert.equal(written.code, 0, written.stdout + written.stderr);
  assert.equal(statSync(target).mode & 0o777, 0o600);
  const keys = parseSecretsKeys(readFileSync(target, 'utf8'));
  assert.deepEqual(keys.slice(1), [oldKey]);
  const overwrite = await runCli(['secrets', 'rotate-key', '--new-key-file', target], environment);
  assert.equal(overwrite.code, 1);
  assert.match(overwrite.stderr, /already exists/);

  // Installed (here: its lines comma-separated in PAYFLOW_SECRETS_KEY), then the re-seal.
  const installed = {
    DATABASE_URL: database.url,
    PAYFLOW_SECRETS_KEY: keys.map((key) => key.toString('base64')).join(','),
  };
  const resealed = await runCli(['secrets', 'rotate-key', '--reseal-only'], installed);
  assert.equal(resealed.code, 0, resealed.stdout + resealed.stderr);
  assert.deepEqual([...(await sealedByKey(database.sql)).keys()], [keyIdOf(keys[0]!)]);
  // With the older key gone from the keyring, a later run finds nothing to do.
  const noop = await runCli(['secrets', 'rotate-key', '--reseal-only'], {
    DATABASE_URL: database.url,
    PAYFLOW_SECRETS_KEY: keys[0]!.toString('hex'),
  });
  assert.equal(noop.code, 0, noop.stdout + noop.stderr);
  assert.match(noop.stdout, /^done: 0 value\(s\) re-sealed/m);
});

test('a sealed value no module declares keeps the command from saying the older key can go', async () => {
  const database = await createTestDatabase();
  databases.push(database);
  const oldKey = randomBytes(32);
  const file = keyFile([oldKey]);
  await database.sql`create table public.extension_tokens (id text primary key, token_sealed text)`;
  const sealed = createSecretSealer(oldKey).seal('x', {
    table: 'public.extension_tokens',
    id: 't1',
    column: 'token_sealed',
  });
  await database.sql`insert into public.extension_tokens values ('t1', ${sealed})`;
  const run = await runCli(['secrets', 'rotate-key'], { DATABASE_URL: database.url, ...fileEnv(file) });
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.match(
    run.stdout,
    /public\.extension_tokens\.token_sealed: 1 value\(s\) under an older key that no module declares/,
  );
  assert.match(
    run.stdout,
    /^not done: 0 declared and 1 undeclared value\(s\) still under older keys; keep them/m,
  );
  assert.equal(parseSecretsKeys(readFileSync(file, 'utf8')).length, 2, 'the older key stays in the file');
});
