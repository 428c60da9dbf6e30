// The README's "Running the vault apart" GRANTs, executed as written: a role holding only them runs
// every vault use case (tokenize, detokenize with the CVC, purge, rotation), and the role other
// PayFlow processes use cannot read the vault's tables.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { adminUrl, createTestDatabase, type TestDatabase } from '../../../../test/support/database.ts';
import { createSql, type Sql } from '../../../platform/db/client.ts';
import { rotateKeyringFile } from '../domain/envelope.ts';
import { writeKeyringFile } from '../infra/keyring-source.ts';
import { MovableClock, temporaryDirectory, vaultContext } from '../../../../test/support/vault.ts';
import { openVault } from './open-vault.ts';
import { rewrapAll } from './rewrap-records.ts';
import { deleteFinishedKeysBefore } from '../../../platform/idempotency.ts';

const suffix = randomBytes(4).toString('hex');
const vaultRole = `payflow_vault_${suffix}`;
const appRole = `payflow_app_${suffix}`;
const password = randomBytes(12).toString('hex');
let database: TestDatabase;
const pools: Sql[] = [];

function readmeGrants(): string {
  const readme = readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('**Running the vault apart.**'));
  const block = /```sql\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, 'the README shows the GRANTs in an sql block');
  return block
    .replaceAll("password '…'", `password '${password}'`)
    .replaceAll('payflow_vault', vaultRole)
    .replaceAll('payflow_app', appRole);
}

function connectAs(role: string): Sql {
  const url = new URL(database.url);
  url.username = role;
  url.password = password;
  const sql = createSql({ url: url.toString(), maxConnections: 2 });
  pools.push(sql);
  return sql;
}

before(async () => {
  database = await createTestDatabase();
  await database.sql.unsafe(`create role ${appRole} login password '${password}'`);
  await database.sql.unsafe(`grant usage on schema vault to ${appRole}`);
  await database.sql.unsafe(`grant select on all tables in schema vault to ${appRole}`);
  await database.sql.unsafe(readmeGrants());
});
after(async () => {
  for (const pool of pools) await pool.end({ timeout: 1 });
  await database.drop();
  // Roles belong to the cluster: drop them once the database holding their grants is gone.
  const admin = createSql({ url: adminUrl(), maxConnections: 1 });
  try {
    await admin.unsafe(`drop role if exists ${vaultRole}`);
    await admin.unsafe(`drop role if exists ${appRole}`);
  } finally {
    await admin.end({ timeout: 1 });
  }
});

test('a role holding only the documented GRANTs runs every vault use case', async () => {
  const sql = connectAs(vaultRole);
  const clock = new MovableClock(new Date('2026-05-15T12:00:00Z'));
  const dataDir = temporaryDirectory();
  const vault = await openVault(vaultContext(sql, clock, {}, dataDir));
  const merchantId = 'mer_role0000000000000000000001';
  const first = await vault.tokenize(merchantId, {
    card: { number: '4242424242424242', expMonth: 12, expYear: 2030, cvc: '123' },
  });
  const second = await vault.tokenize(merchantId, {
    card: { number: '5555555555554444', expMonth: 12, expYear: 2030, cvc: '456' },
  });
  assert.deepEqual(await vault.describe(merchantId, first.token), first);
  const data = await vault.detokenizeForProcessor({
    merchantId,
    token: first.token,
    purpose: 'authorization',
    actor: 'role-test',
  });
  assert.equal(data.kind === 'card' && data.cvc?.reveal(), '123');
  clock.advanceSeconds(3600);
  assert.equal(await vault.purgeExpiredCvcs(), 1);
  const keyringFile = path.join(dataDir, 'vault-keyring.json');
  writeKeyringFile(keyringFile, rotateKeyringFile(readFileSync(keyringFile, 'utf8')), { exclusive: false });
  const result = await rewrapAll(vault.dependencies, { batchSize: 1 });
  assert.deepEqual([result.activeVersion, result.rewrapped, result.remaining], [2, 3, 0]);
  const again = await vault.detokenizeForProcessor({
    merchantId,
    token: second.token,
    purpose: 'capture',
    actor: 'role-test',
  });
  assert.equal(again.kind === 'card' && again.number.reveal(), '5555555555554444');
  await assert.rejects(sql`delete from vault.access_log`, /permission denied|append-only/);

  // POST /tokens with an Idempotency-Key, then the reaper, under the same GRANTs.
  const input = { card: { number: '4242424242424242', expMonth: 12, expYear: 2030, cvc: '123' } };
  const keyed = await vault.tokenizeIdempotently(merchantId, input, { idempotencyKey: 'role-key' });
  const replayed = await vault.tokenizeIdempotently(merchantId, input, { idempotencyKey: 'role-key' });
  assert.deepEqual(
    [keyed.answer.status, replayed.replayed, replayed.answer.body],
    [201, true, keyed.answer.body],
  );
  clock.advanceSeconds(25 * 3600);
  assert.equal(await deleteFinishedKeysBefore(sql, 'vault.idempotency_keys', clock.now()), 1);
});

test('the role other PayFlow processes use cannot read the vault', async () => {
  const sql = connectAs(appRole);
  await assert.rejects(sql`select token_id from vault.card_tokens limit 1`, /permission denied/);
  await assert.rejects(sql`select * from vault.cvc_records limit 1`, /permission denied/);
  await assert.rejects(sql`select * from vault.access_log limit 1`, /permission denied/);
});
