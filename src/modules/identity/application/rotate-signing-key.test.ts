// Key rotation against the real identity schema with a clock the test moves: retiring keys keep
// verifying until their tokens expire, then the maintenance job retires them; scheduled rotation
// happens once even when two workers run it at the same moment.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database.ts';
import type { Clock } from '../../../platform/clock.ts';
import { createBearerAuthenticator } from '../infra/bearer-authenticator.ts';
import { listSigningKeys } from '../infra/identity-repository.ts';
import { KeyRing } from '../infra/key-ring.ts';
import { createSecretSealer } from '../../../platform/secrets.ts';
import { createMerchant } from './create-merchant.ts';
import { issueToken } from './issue-token.ts';
import { maintainSigningKeys, rotateSigningKey } from './rotate-signing-key.ts';

let database: TestDatabase;
before(async () => {
  database = await createTestDatabase();
});
after(async () => {
  await database.drop();
});

const start = Date.parse('2026-01-01T00:00:00Z');
let nowMs = start;
const clock: Clock = { now: () => new Date(nowMs) };
const settings = { issuer: 'payflow', audience: 'payflow-api', ttlSeconds: 900 };
const options = { algorithm: 'EdDSA' as const, tokenTtlSeconds: 900, leewaySeconds: 30 };
const silentLog = { info: () => undefined };
/** Key rotation is the subject here; client revocation has its own tests. */
const noRevocations = { refusal: () => undefined, staleForMs: () => undefined };
const day = 86_400_000;
const sealer = createSecretSealer(randomBytes(32));

test('rotation keeps old tokens verifying until they expire, then the job retires the key', async () => {
  const keyRing = new KeyRing(database.sql, clock, 'EdDSA', sealer);
  await keyRing.ensureActiveKey();
  const authenticator = createBearerAuthenticator(
    keyRing,
    clock,
    { ...settings, leewaySeconds: 30 },
    silentLog,
    noRevocations,
  );
  const merchant = await createMerchant({ sql: database.sql, clock }, 'Clocked Shop');
  const request = {
    grantType: 'client_credentials',
    clientId: merchant.clientId,
    clientSecret: merchant.clientSecret,
    scope: undefined,
  };
  const dependencies = { sql: database.sql, clock, keyRing, settings };
  const old = (await issueToken(dependencies, request)).access_token;
  assert.equal(decodeProtectedHeader(old).alg, 'EdDSA');

  nowMs = start + 60_000;
  const rotated = await rotateSigningKey({ sql: database.sql, clock, sealer }, options);
  assert.ok(rotated);
  assert.equal(rotated.previousKid, decodeProtectedHeader(old).kid);
  const fresh = (await issueToken(dependencies, request)).access_token;
  assert.equal(decodeProtectedHeader(fresh).kid, rotated.kid);

  nowMs = start + 600_000;
  assert.equal((await authenticator.verify(old)).merchantId, merchant.merchantId);
  const early = await maintainSigningKeys(
    { sql: database.sql, clock, sealer },
    { ...options, rotateAfterMs: 30 * day },
  );
  assert.deepEqual(early, { rotated: undefined, retired: [] });

  nowMs = start + 60_000 + 930_000;
  const due = await maintainSigningKeys(
    { sql: database.sql, clock, sealer },
    { ...options, rotateAfterMs: 30 * day },
  );
  assert.deepEqual(due.retired, [rotated.previousKid]);
  keyRing.invalidate();
  assert.equal(await keyRing.verificationKey(rotated.previousKid!), undefined);
  await assert.rejects(authenticator.verify(old), (error: { status?: number }) => error.status === 401);
  const current = (await issueToken(dependencies, request)).access_token;
  assert.equal(decodeProtectedHeader(current).kid, rotated.kid);
  assert.equal((await authenticator.verify(current)).clientId, merchant.clientId);
});

test('scheduled rotation happens once when the active key is due, even with two workers at once', async () => {
  const keysBefore = await listSigningKeys(database.sql);
  nowMs += 31 * day;
  const dependencies = { sql: database.sql, clock, sealer };
  const runs = await Promise.all([
    maintainSigningKeys(dependencies, { ...options, rotateAfterMs: 30 * day }),
    maintainSigningKeys(dependencies, { ...options, rotateAfterMs: 30 * day }),
  ]);
  assert.equal(runs.filter((run) => run.rotated !== undefined).length, 1);
  const keysAfter = await listSigningKeys(database.sql);
  assert.equal(keysAfter.length, keysBefore.length + 1);
  assert.equal(keysAfter.filter((key) => key.status === 'active').length, 1);
  const never = await maintainSigningKeys(dependencies, { ...options, rotateAfterMs: 0 });
  assert.equal(never.rotated, undefined);
});
