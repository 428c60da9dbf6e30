// Token-signing keys and webhook secrets sealed at rest (ADR 16), against real PostgreSQL and real
// `payflow start` processes: nothing in the clear columns after start, sealed values hold no secret,
// tokens and webhooks (rotation grace included) still verify after a restart, a database written by
// a PayFlow before sealing is sealed at start (two processes at once) and keeps working, a wrong key
// stops the start with one line, and a dump of the identity and notifications schemas holds no
// `whsec_` and no private key material.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import { createEmptyDatabase, createTestDatabase, type TestDatabase } from './support/database.ts';
import { runCli, spawnServer, type SpawnedServer } from './support/server.ts';
import {
  createMerchantCredentials,
  fetchToken,
  merchantSessionAt,
  type MerchantSession,
} from './support/identity.ts';
import { authorizeBody, call, paymentsEnv, startTestAcquirer, tokenize } from './support/payments.ts';
import { verifyWebhook } from '../src/webhooks.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { moduleMigrations } from '../src/apps/platform.ts';
import { newId } from '../src/platform/ids.ts';
import type { Sql } from '../src/platform/db/client.ts';
import type { RunningSimulator } from '../src/simulator/index.ts';
import { eventually } from './support/eventually.ts';

interface Receiver {
  readonly url: string;
  readonly received: { headers: http.IncomingHttpHeaders; body: string }[];
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const received: Receiver['received'] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let acquirer: RunningSimulator;
const databases: TestDatabase[] = [];
const servers: SpawnedServer[] = [];
const receivers: Receiver[] = [];

before(async () => {
  acquirer = await startTestAcquirer();
});
after(async () => {
  for (const server of servers) await server.stop();
  for (const receiver of receivers) await receiver.close();
  for (const database of databases) await database.drop();
  await acquirer.close();
});

function newKey(): string {
  return randomBytes(32).toString('hex');
}
const vaultKey = newKey();

async function start(database: TestDatabase, key: string): Promise<SpawnedServer> {
  const server = await spawnServer({
    ...paymentsEnv(acquirer.url, {
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_POLL_INTERVAL_MS: '50',
      EVENTS_POLL_INTERVAL_MS: '50',
    }),
    DATABASE_URL: database.url,
    PAYFLOW_SECRETS_KEY: key,
    VAULT_MASTER_KEY: vaultKey, // restarts get new data directories; the vault's keyring is its own
  });
  servers.push(server);
  return server;
}

async function session(baseUrl: string, sql: Sql): Promise<MerchantSession> {
  return merchantSessionAt(baseUrl, await createMerchantCredentials(sql));
}

async function whoami(baseUrl: string, token: string): Promise<number> {
  const response = await fetch(`${baseUrl}/v1/identity/whoami`, {
    headers: { authorization: `Bearer ${token}` },
  });
  await response.arrayBuffer();
  return response.status;
}

/** Authorizes a payment and returns the webhook the receiver gets for it. */
async function webhookFor(baseUrl: string, merchant: MerchantSession, receiver: Receiver) {
  const card = await tokenize(baseUrl, merchant);
  const answer = await call(baseUrl, merchant, 'POST', '/payments/authorize', authorizeBody(card, 1200));
  assert.equal(answer.status, 201, answer.text);
  const paymentId = answer.body.paymentId as string;
  return eventually(`the webhook of ${paymentId}`, () =>
    receiver.received.find((message) => message.body.includes(paymentId)),
  );
}

function kidOf(token: string): string {
  return (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as { kid: string }).kid;
}

function verifies(message: { headers: http.IncomingHttpHeaders; body: string }, secret: string): boolean {
  try {
    verifyWebhook({ headers: message.headers, rawBody: message.body, secret });
    return true;
  } catch {
    return false;
  }
}

interface StoredSecrets {
  clearKeys: number;
  sealedKeys: string[];
  clearSecrets: number;
  sealedSecrets: string[];
}

async function storedSecrets(sql: Sql): Promise<StoredSecrets> {
  const keys = await sql<{ private_jwk: unknown; private_jwk_sealed: string | null }[]>`
    select private_jwk, private_jwk_sealed from identity.signing_keys`;
  const endpoints = await sql<
    {
      secret: string | null;
      previous_secret: string | null;
      secret_sealed: string | null;
      previous_secret_sealed: string | null;
    }[]
  >`select secret, previous_secret, secret_sealed, previous_secret_sealed from notifications.webhook_endpoints`;
  return {
    clearKeys: keys.filter((row) => row.private_jwk !== null).length,
    sealedKeys: keys.flatMap((row) => (row.private_jwk_sealed === null ? [] : [row.private_jwk_sealed])),
    clearSecrets: endpoints.filter((row) => row.secret !== null || row.previous_secret !== null).length,
    sealedSecrets: endpoints.flatMap((row) =>
      [row.secret_sealed, row.previous_secret_sealed].filter((value): value is string => value !== null),
    ),
  };
}

/** Every row of every table of the identity and notifications schemas, as text. */
async function dumpSchemas(sql: Sql): Promise<string> {
  const tables = await sql<{ schema: string; name: string }[]>`
    select table_schema as schema, table_name as name from information_schema.tables
    where table_type = 'BASE TABLE' and table_schema in ('identity', 'notifications')`;
  assert.ok(tables.some((table) => table.name === 'signing_keys'));
  assert.ok(tables.some((table) => table.name === 'webhook_endpoints'));
  const parts: string[] = [];
  for (const table of tables) {
    const rows = await sql<
      { line: string }[]
    >`select t::text as line from ${sql(`${table.schema}.${table.name}`)} t`;
    parts.push(`-- ${table.schema}.${table.name}`, ...rows.map((row) => row.line));
  }
  return parts.join('\n');
}

/** What a dump shows of webhook secrets or private keys; empty when it shows nothing. */
function secretMaterialIn(dump: string, secrets: readonly string[]): string[] {
  const found: string[] = [];
  if (dump.includes('whsec_')) found.push('whsec_');
  if (/PRIVATE KEY/.test(dump)) found.push('PEM private key');
  // A private JWK is the only JSON in these schemas with a "d" member (public JWKs have none); in a
  // row's text form its quotes are doubled.
  if (/\\?"+d\\?"+\s*:/.test(dump)) found.push('private JWK');
  for (const secret of secrets) if (dump.includes(secret.slice('whsec_'.length))) found.push('secret body');
  return found;
}

test('secrets are sealed, survive a restart, rotate with grace, and no dump shows them', async () => {
  const database = await createTestDatabase();
  databases.push(database);
  const key = newKey();
  const receiver = await startReceiver();
  receivers.push(receiver);
  let server = await start(database, key);
  const merchant = await session(server.baseUrl, database.sql);
  const created = await call(server.baseUrl, merchant, 'POST', '/webhooks/endpoints', {
    url: receiver.url,
    eventTypes: ['payment.authorized.v1'],
  });
  assert.equal(created.status, 201, created.text);
  const endpointId = created.body.id as string;
  const firstSecret = created.body.secret as string;
  const rotationKey = randomUUID();
  const rotated = await call(
    server.baseUrl,
    merchant,
    'POST',
    `/webhooks/endpoints/${endpointId}/rotate-secret`,
    {},
    rotationKey,
  );
  assert.equal(rotated.status, 200, rotated.text);
  const secondSecret = rotated.body.secret as string;
  assert.match(secondSecret, /^whsec_/);
  assert.notEqual(secondSecret, firstSecret);

  let stored = await storedSecrets(database.sql);
  assert.deepEqual([stored.clearKeys, stored.clearSecrets], [0, 0], 'clear columns are empty');
  assert.equal(stored.sealedKeys.length, 1);
  assert.equal(stored.sealedSecrets.length, 2, 'current and previous secret, both sealed');
  for (const sealed of [...stored.sealedKeys, ...stored.sealedSecrets]) {
    assert.match(sealed, /^pfs1\./);
    for (const secret of [firstSecret, secondSecret]) assert.ok(!sealed.includes(secret.slice(6)));
    assert.ok(!sealed.includes('whsec_') && !sealed.includes('"d"'));
  }

  // During the grace period both secrets sign.
  const before = await webhookFor(server.baseUrl, merchant, receiver);
  assert.ok(verifies(before, secondSecret) && verifies(before, firstSecret));

  // A restart (new process, new data directory, same key): old tokens, new tokens, webhooks, replay.
  await server.stop();
  server = await start(database, key);
  assert.equal(await whoami(server.baseUrl, merchant.token), 200, 'a token from before the restart');
  assert.equal(
    await whoami(server.baseUrl, await fetchToken(server.baseUrl, merchant.clientId, merchant.clientSecret)),
    200,
  );
  const afterRestart = await webhookFor(server.baseUrl, merchant, receiver);
  assert.ok(verifies(afterRestart, secondSecret) && verifies(afterRestart, firstSecret));
  assert.ok(!verifies(afterRestart, `whsec_${randomBytes(32).toString('base64')}`));
  // The idempotent replay of the rotation (ADR 13) still shows the current secret, unsealed.
  const replay = await call(
    server.baseUrl,
    merchant,
    'POST',
    `/webhooks/endpoints/${endpointId}/rotate-secret`,
    {},
    rotationKey,
  );
  assert.equal(replay.status, 200, replay.text);
  assert.equal(replay.body.secret, secondSecret);

  // `payflow keys rotate` with the same key writes the new key sealed, and it signs at once; with
  // another key the command refuses before writing anything.
  const wrong = await runCli(['keys', 'rotate'], {
    DATABASE_URL: database.url,
    PAYFLOW_SECRETS_KEY: newKey(),
  });
  assert.equal(wrong.code, 1);
  assert.match(
    wrong.stderr,
    /^payflow: signing key key_\w+ does not unseal with this secrets key .*PAYFLOW_SECRETS_KEY/,
  );
  const rotation = await runCli(['keys', 'rotate'], { DATABASE_URL: database.url, PAYFLOW_SECRETS_KEY: key });
  assert.equal(rotation.code, 0, rotation.stderr);
  const newKid = (JSON.parse(rotation.stdout) as { kid: string }).kid;
  const fresh = await fetchToken(server.baseUrl, merchant.clientId, merchant.clientSecret);
  assert.equal(kidOf(fresh), newKid);
  assert.equal(await whoami(server.baseUrl, fresh), 200);
  stored = await storedSecrets(database.sql);
  assert.deepEqual([stored.clearKeys, stored.clearSecrets, stored.sealedKeys.length], [0, 0, 2]);
  assert.deepEqual(secretMaterialIn(await dumpSchemas(database.sql), [firstSecret, secondSecret]), []);
});

test('a wrong secrets key stops the start with one line naming the variable, and changes nothing', async () => {
  const database = await createTestDatabase();
  databases.push(database);
  const first = await start(database, newKey());
  await first.stop();
  const before = await storedSecrets(database.sql);
  let output = '';
  await assert.rejects(start(database, newKey()), (error: Error) => {
    output = error.message;
    return true;
  });
  const lines = output.split('\n').filter((line) => line.includes('PAYFLOW_SECRETS_KEY'));
  assert.equal(lines.length, 1, output);
  assert.match(
    lines[0]!,
    /^payflow: signing key key_\w+ does not unseal with this secrets key \(unknown_key\): is PAYFLOW_SECRETS_KEY \/ PAYFLOW_SECRETS_KEY_FILE the key this database was sealed with\?$/,
  );
  assert.ok(!/^\s+at /m.test(output), 'no stack trace');
  assert.deepEqual(await storedSecrets(database.sql), before);
});

test('a database written in clear before sealing is sealed at start (two processes at once) and keeps working', async () => {
  const database = await createEmptyDatabase();
  databases.push(database);
  const newMigrations = [
    'identity/0103_identity_sealed_signing_keys.sql',
    'notifications/0604_notifications_sealed_webhook_secrets.sql',
  ];
  const older = moduleMigrations().filter((migration) => !newMigrations.includes(migration.name));
  assert.equal(older.length, moduleMigrations().length - 2, 'the migrations that add the sealed columns');
  await migrate(database.sql, older);

  // Rows the way PayFlow wrote them before ADR 16: a private JWK and webhook secrets in clear.
  const pair = await generateKeyPair('ES256', { extractable: true });
  const kid = newId('key');
  const publicJwk = { ...(await exportJWK(pair.publicKey)), kid, alg: 'ES256', use: 'sig' };
  const privateJwk = { ...(await exportJWK(pair.privateKey)), kid, alg: 'ES256' };
  await database.sql`
    insert into identity.signing_keys (kid, algorithm, public_jwk, private_jwk, status)
    values (${kid}, 'ES256', ${database.sql.json(publicJwk)}, ${database.sql.json(privateJwk)}, 'active')`;
  const credentials = await createMerchantCredentials(database.sql);
  const receiver = await startReceiver();
  receivers.push(receiver);
  const endpointId = newId('we');
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const previousSecret = `whsec_${randomBytes(32).toString('base64')}`;
  await database.sql`
    insert into notifications.webhook_endpoints
      (id, merchant_id, url, event_types, secret, previous_secret, previous_secret_expires_at,
       created_at, updated_at)
    values (${endpointId}, ${credentials.merchantId}, ${receiver.url}, ${database.sql.array(['payment.authorized.v1'])},
            ${secret}, ${previousSecret}, now() + interval '1 day', now(), now())`;

  // The scan below would see these rows: it is not blind.
  assert.deepEqual(secretMaterialIn(await dumpSchemas(database.sql), [secret, previousSecret]), [
    'whsec_',
    'private JWK',
    'secret body',
    'secret body',
  ]);
  const key = newKey();
  const [server] = await Promise.all([start(database, key), start(database, key)]);
  const stored = await storedSecrets(database.sql);
  assert.deepEqual([stored.clearKeys, stored.clearSecrets], [0, 0], 'clear columns nulled at start');
  assert.deepEqual([stored.sealedKeys.length, stored.sealedSecrets.length], [1, 2]);

  const token = await fetchToken(server!.baseUrl, credentials.clientId, credentials.clientSecret);
  assert.equal(kidOf(token), kid, 'the key written in clear, now sealed, still signs');
  assert.equal(await whoami(server!.baseUrl, token), 200);
  const merchant = await merchantSessionAt(server!.baseUrl, credentials);
  const message = await webhookFor(server!.baseUrl, merchant, receiver);
  assert.ok(verifies(message, secret) && verifies(message, previousSecret), 'both old secrets still sign');
  assert.deepEqual(secretMaterialIn(await dumpSchemas(database.sql), [secret, previousSecret]), []);
});
