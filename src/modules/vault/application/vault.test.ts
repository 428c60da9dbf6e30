// The vault's use cases against real PostgreSQL: tokenize → describe → detokenize, the CVC's single
// use and time to live, the audit trail, merchant scoping, and the precise validation codes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database.ts';
import { DomainError } from '../../../platform/errors.ts';
import { MovableClock, temporaryDirectory, vaultContext } from '../../../../test/support/vault.ts';
import { takeTokensForRelease } from '../infra/vault-repository.ts';
import { openVault, type Vault } from './open-vault.ts';

let database: TestDatabase;
let vault: Vault;
let dataDir: string;
const clock = new MovableClock(new Date('2026-05-15T12:00:00Z'));
const merchantId = 'mer_vaulttest000000000000000001';
const otherMerchantId = 'mer_vaulttest000000000000000002';
const visa = {
  number: '4242 4242 4242 4242',
  expMonth: 12,
  expYear: 2030,
  cvc: '123',
  holderName: 'Ada Lovelace',
};
const cryptogram = Buffer.alloc(20, 7).toString('base64');

before(async () => {
  database = await createTestDatabase();
  dataDir = temporaryDirectory();
  vault = await openVault(vaultContext(database.sql, clock, {}, dataDir));
});
after(async () => {
  await database.drop();
});

async function accessLog(tokenId: string) {
  return database.sql<
    {
      action: string;
      purpose: string | null;
      outcome: string;
      actor: string;
      cvc_released: boolean;
      merchant_id: string;
    }[]
  >`
    select action, purpose, outcome, actor, cvc_released, merchant_id from vault.access_log
    where token_id = ${tokenId} order by id`;
}

test('the first start generates a keyring file readable by its owner only', () => {
  const file = path.join(dataDir, 'vault-keyring.json');
  assert.ok(existsSync(file));
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { active: number }).active, 1);
});

test('tokenize returns the public description; describe returns it again; the database holds no clear number', async () => {
  const description = await vault.tokenize(merchantId, { card: visa }, { actor: 'cli_test' });
  assert.match(description.token, /^tok_[0-9a-hjkmnp-tv-z]{26}$/);
  assert.deepEqual(Object.keys(description).sort(), ['card', 'token']);
  assert.equal(description.card?.brand, 'visa');
  assert.equal(description.card?.bin, '42424242');
  assert.equal(description.card?.last4, '4242');
  assert.equal(description.card?.expMonth, 12);
  assert.equal(description.card?.expYear, 2030);
  assert.match(description.card?.fingerprint ?? '', /^[A-Za-z0-9_-]{22}$/);
  assert.deepEqual(await vault.describe(merchantId, description.token), description);
  assert.equal(await vault.describe(otherMerchantId, description.token), undefined);
  assert.equal(await vault.describe(merchantId, 'tok_nope'), undefined);
  // Another process (a vault without this one's cache) reads the same description from the database,
  // and its cache, once filled by the owner's read, still answers another merchant with nothing.
  const elsewhere = await openVault(vaultContext(database.sql, clock, {}, dataDir));
  assert.equal(await elsewhere.describe(otherMerchantId, description.token), undefined);
  assert.deepEqual(await elsewhere.describe(merchantId, description.token), description);
  assert.equal(await elsewhere.describe(otherMerchantId, description.token), undefined);

  const [row] = await database.sql<{ text: string }[]>`
    select row_to_json(t)::text as text from vault.card_tokens t where token_id = ${description.token}`;
  assert.ok(row && !row.text.includes('4242424242424242') && !row.text.includes('Ada Lovelace'));
  const [cvcRow] = await database.sql<{ key_version: number; expires_at: Date }[]>`
    select key_version, expires_at from vault.cvc_records where token_id = ${description.token}`;
  assert.equal(cvcRow?.expires_at.getTime(), clock.now().getTime() + 900_000);
  assert.deepEqual(
    (await accessLog(description.token)).map((entry) => [entry.action, entry.outcome, entry.actor]),
    [['tokenize', 'ok', 'cli_test']],
  );
});

test('the fingerprint is stable per merchant and differs across merchants', async () => {
  const first = await vault.tokenize(merchantId, { card: visa });
  const second = await vault.tokenize(merchantId, {
    card: { ...visa, number: '4242424242424242', cvc: '999' },
  });
  const elsewhere = await vault.tokenize(otherMerchantId, { card: visa });
  const mastercard = await vault.tokenize(merchantId, { card: { ...visa, number: '5555555555554444' } });
  assert.equal(first.card?.fingerprint, second.card?.fingerprint);
  assert.notEqual(first.card?.fingerprint, elsewhere.card?.fingerprint);
  assert.notEqual(first.card?.fingerprint, mastercard.card?.fingerprint);
  assert.notEqual(first.token, second.token);
});

test('an authorization detokenize returns the number and the CVC once, destroys the CVC, and is audited', async () => {
  const { token } = await vault.tokenize(merchantId, { card: visa }, { actor: 'pk_test' });
  const authorization = await vault.detokenizeForProcessor({
    merchantId,
    token,
    purpose: 'authorization',
    actor: 'payments',
  });
  assert.equal(authorization.kind, 'card');
  if (authorization.kind !== 'card') return;
  assert.equal(authorization.number.reveal(), '4242424242424242');
  assert.equal(authorization.cvc?.reveal(), '123');
  assert.equal(authorization.holderName, 'Ada Lovelace');
  assert.equal(authorization.brand, 'visa');
  assert.equal(authorization.last4, '4242');
  assert.deepEqual([authorization.expMonth, authorization.expYear], [12, 2030]);
  assert.ok(!inspect(authorization, { depth: 5 }).includes('4242424242424242'));
  assert.ok(!JSON.stringify(authorization).includes('4242424242424242'));
  assert.equal((await database.sql`select 1 from vault.cvc_records where token_id = ${token}`).length, 0);

  const again = await vault.detokenizeForProcessor({
    merchantId,
    token,
    purpose: 'authorization',
    actor: 'payments',
  });
  assert.equal(
    again.kind === 'card' ? again.cvc : 'wallet',
    undefined,
    'the CVC never survives its authorization',
  );
  const capture = await vault.detokenizeForProcessor({
    merchantId,
    token,
    purpose: 'capture',
    actor: 'payments',
  });
  assert.equal(capture.kind === 'card' && capture.number.reveal(), '4242424242424242');

  assert.deepEqual(
    (await accessLog(token)).map((entry) => [
      entry.action,
      entry.purpose,
      entry.outcome,
      entry.cvc_released,
      entry.actor,
    ]),
    [
      ['tokenize', null, 'ok', false, 'pk_test'],
      ['detokenize', 'authorization', 'released', true, 'payments'],
      ['detokenize', 'authorization', 'released', false, 'payments'],
      ['detokenize', 'capture', 'released', false, 'payments'],
    ],
  );
});

test('ten parallel authorization detokenizes: exactly one receives the CVC, and the log says which', async () => {
  const { token } = await vault.tokenize(merchantId, { card: visa });
  const answers = await Promise.all(
    Array.from({ length: 10 }, () =>
      vault.detokenizeForProcessor({ merchantId, token, purpose: 'authorization', actor: 'payments' }),
    ),
  );
  const withCvc = answers.filter((answer) => answer.kind === 'card' && answer.cvc !== undefined);
  assert.equal(withCvc.length, 1);
  const released = (await accessLog(token)).filter((entry) => entry.action === 'detokenize');
  assert.equal(released.length, 10);
  assert.equal(released.filter((entry) => entry.cvc_released).length, 1);
});

test('releases of many requests in one statement: each its own token and audit row, a CVC to the first asker only', async () => {
  const { token: first } = await vault.tokenize(merchantId, { card: visa });
  const { token: second } = await vault.tokenize(merchantId, { card: { ...visa, cvc: '456' } });
  const audit = (purpose: 'authorization' | 'capture') => ({
    occurredAt: clock.now(),
    actor: 'payments',
    purpose,
  });
  const requests = [
    // Another merchant asking for the first token's CVC: not found, and it does not consume it.
    { merchantId: otherMerchantId, tokenId: first, takeCvc: true, audit: audit('authorization') },
    { merchantId, tokenId: first, takeCvc: false, audit: audit('capture') },
    { merchantId, tokenId: first, takeCvc: true, audit: audit('authorization') },
    { merchantId, tokenId: first, takeCvc: true, audit: audit('authorization') },
    { merchantId, tokenId: 'tok_00000000000000000000000009', takeCvc: true, audit: audit('authorization') },
    { merchantId, tokenId: second, takeCvc: true, audit: audit('authorization') },
  ];
  const released = await takeTokensForRelease(database.sql, requests);
  assert.deepEqual(
    released.map((token) => [token?.tokenId, token?.cvc !== undefined]),
    [
      [undefined, false],
      [first, false],
      [first, true],
      [first, false],
      [undefined, false],
      [second, true],
    ],
  );
  // Each request's row, in the requests' order; the released CVCs are the ones handed over.
  const rows = await database.sql<
    { token_id: string | null; outcome: string; cvc_released: boolean; merchant_id: string }[]
  >`
    select token_id, outcome, cvc_released, merchant_id from vault.access_log
    where action = 'detokenize' and token_id = any(${[first, second, 'tok_00000000000000000000000009']})
    order by id`;
  assert.deepEqual(
    rows.map((row) => [row.token_id, row.merchant_id === merchantId, row.outcome, row.cvc_released]),
    [
      [first, false, 'not_found', false],
      [first, true, 'released', false],
      [first, true, 'released', true],
      [first, true, 'released', false],
      ['tok_00000000000000000000000009', true, 'not_found', false],
      [second, true, 'released', true],
    ],
  );
  // The CVCs are gone: a later authorization gets none.
  const again = await takeTokensForRelease(database.sql, [requests[2]!, requests[5]!]);
  assert.deepEqual(
    again.map((token) => token?.cvc),
    [undefined, undefined],
  );
});

test('a record that no longer decrypts: the detokenize fails without the data, audited as failed, its CVC gone', async () => {
  const { token } = await vault.tokenize(merchantId, { card: visa });
  await database.sql`
    update vault.card_tokens set ciphertext = set_byte(ciphertext, 0, (get_byte(ciphertext, 0) + 1) % 256)
    where token_id = ${token}`;
  await assert.rejects(
    vault.detokenizeForProcessor({ merchantId, token, purpose: 'authorization', actor: 'payments' }),
    (error: Error) => /could not decrypt/.test(error.message) && !error.message.includes('4242'),
  );
  const entries = (await accessLog(token)).filter((entry) => entry.action === 'detokenize');
  assert.deepEqual(
    entries.map((entry) => [entry.outcome, entry.cvc_released]),
    // Audited before release (the CVC record was taken with the read), then the failure: nothing left.
    [
      ['released', true],
      ['failed', false],
    ],
  );
  assert.equal((await database.sql`select 1 from vault.cvc_records where token_id = ${token}`).length, 0);
});

test('a capture, refund or void detokenize leaves the CVC for the authorization', async () => {
  const { token } = await vault.tokenize(merchantId, { card: visa });
  for (const purpose of ['capture', 'refund', 'void'] as const) {
    const data = await vault.detokenizeForProcessor({ merchantId, token, purpose, actor: 'payments' });
    assert.equal(data.kind === 'card' ? data.cvc : 'wallet', undefined);
  }
  const authorization = await vault.detokenizeForProcessor({
    merchantId,
    token,
    purpose: 'authorization',
    actor: 'payments',
  });
  assert.equal(authorization.kind === 'card' && authorization.cvc?.reveal(), '123');
});

test("another merchant's token and unknown tokens are token_not_found, and the attempt is audited", async () => {
  const { token } = await vault.tokenize(merchantId, { card: visa });
  for (const request of [
    { merchantId: otherMerchantId, token },
    { merchantId, token: 'tok_00000000000000000000000000' },
    { merchantId, token: '4242424242424242' },
  ]) {
    await assert.rejects(
      vault.detokenizeForProcessor({ ...request, purpose: 'authorization', actor: 'payments' }),
      (error: unknown) =>
        error instanceof DomainError && error.code === 'token_not_found' && error.status === 404,
    );
  }
  const attempts = await accessLog(token);
  assert.deepEqual(
    attempts.map((entry) => [entry.action, entry.outcome, entry.merchant_id]),
    [
      ['tokenize', 'ok', merchantId],
      ['detokenize', 'not_found', otherMerchantId],
    ],
  );
  // The other merchant's attempt did not consume the CVC.
  const authorization = await vault.detokenizeForProcessor({
    merchantId,
    token,
    purpose: 'authorization',
    actor: 'payments',
  });
  assert.equal(authorization.kind === 'card' && authorization.cvc?.reveal(), '123');
  const [withoutToken] = await database.sql<{ count: bigint }[]>`
    select count(*)::int8 as count from vault.access_log where token_id is null and outcome = 'not_found'`;
  assert.ok((withoutToken?.count ?? 0n) >= 1n);
});

test('a CVC not used within its time to live is purged (and is not released at authorization)', async () => {
  const { token: purged } = await vault.tokenize(merchantId, { card: visa });
  const { token: expiredUnpurged } = await vault.tokenize(merchantId, { card: visa });
  clock.advanceSeconds(899);
  assert.equal(await vault.purgeExpiredCvcs(), 0);
  clock.advanceSeconds(1);
  const { token: fresh } = await vault.tokenize(merchantId, { card: visa });
  // The authorization after expiry gets no CVC even though the purge job has not run yet.
  const late = await vault.detokenizeForProcessor({
    merchantId,
    token: expiredUnpurged,
    purpose: 'authorization',
    actor: 'payments',
  });
  assert.equal(late.kind === 'card' ? late.cvc : 'wallet', undefined);
  assert.ok((await vault.purgeExpiredCvcs()) >= 1);
  assert.equal((await database.sql`select 1 from vault.cvc_records where token_id = ${purged}`).length, 0);
  assert.equal((await database.sql`select 1 from vault.cvc_records where token_id = ${fresh}`).length, 1);
  const stillReadable = await vault.detokenizeForProcessor({
    merchantId,
    token: purged,
    purpose: 'authorization',
    actor: 'payments',
  });
  assert.equal(stillReadable.kind === 'card' && stillReadable.number.reveal(), '4242424242424242');
  assert.equal(stillReadable.kind === 'card' ? stillReadable.cvc : 'wallet', undefined);
});

test('wallet payments tokenize and detokenize with their cryptogram', async () => {
  const wallet = {
    type: 'apple_pay',
    networkToken: '4895370012003478',
    cryptogram,
    expMonth: 11,
    expYear: 2029,
  };
  const description = await vault.tokenize(merchantId, { wallet });
  assert.deepEqual(description.wallet, {
    type: 'apple_pay',
    brand: 'visa',
    last4: '3478',
    expMonth: 11,
    expYear: 2029,
  });
  assert.equal(description.card, undefined);
  assert.deepEqual(await vault.describe(merchantId, description.token), description);
  const data = await vault.detokenizeForProcessor({
    merchantId,
    token: description.token,
    purpose: 'authorization',
    actor: 'payments',
  });
  assert.equal(data.kind, 'wallet');
  if (data.kind !== 'wallet') return;
  assert.equal(data.networkToken.reveal(), '4895370012003478');
  assert.equal(data.cryptogram.reveal(), cryptogram);
  assert.equal(data.type, 'apple_pay');
});

test('invalid input is a DomainError with a precise code that never quotes the input', async () => {
  const cases: readonly [unknown, string, number][] = [
    [{ card: { ...visa, number: '4242424242424241' } }, 'invalid_number', 422],
    [{ card: { ...visa, number: '4242-4242-4242-4242x' } }, 'invalid_number', 422],
    [{ card: { ...visa, expYear: 2025 } }, 'expired_card', 422],
    [{ card: { ...visa, expMonth: 13 } }, 'invalid_expiry_month', 422],
    [{ card: { ...visa, cvc: '12' } }, 'invalid_cvc', 422],
    [{ card: { ...visa, number: '378282246310005', cvc: '123' } }, 'invalid_cvc', 422],
    [{ card: { ...visa, holderName: 'a\u0000b' } }, 'invalid_holder_name', 422],
    [{ wallet: { type: 'samsung_pay' } }, 'invalid_wallet_type', 422],
    [{ card: visa, wallet: {} }, 'invalid_request', 400],
    [{}, 'invalid_request', 400],
    [{ card: '4242424242424242' }, 'invalid_request', 400],
    [null, 'invalid_request', 400],
  ];
  for (const [input, code, status] of cases) {
    await assert.rejects(
      vault.tokenize(merchantId, input as never),
      (error: unknown) =>
        error instanceof DomainError &&
        error.code === code &&
        error.status === status &&
        !JSON.stringify({ message: error.message, ...error.extensions }).includes('4242'),
      code,
    );
  }
});

test('VAULT_FINGERPRINT_KEY, when set, keys the fingerprints; the stored key is used otherwise, by every process', async () => {
  const stored = await vault.tokenize(merchantId, { card: visa });
  const sameDatabase = await openVault(vaultContext(database.sql, clock, {}, dataDir));
  // A process given another keyring cannot use this database's fingerprint key, and says why.
  await assert.rejects(
    openVault(vaultContext(database.sql, clock)),
    /fingerprint key does not decrypt with this keyring/,
  );
  assert.equal(
    (await sameDatabase.tokenize(merchantId, { card: visa })).card?.fingerprint,
    stored.card?.fingerprint,
  );
  const configured = randomBytes(32).toString('hex');
  const first = await openVault(vaultContext(database.sql, clock, { VAULT_FINGERPRINT_KEY: configured }));
  const second = await openVault(vaultContext(database.sql, clock, { VAULT_FINGERPRINT_KEY: configured }));
  const one = await first.tokenize(merchantId, { card: visa });
  const two = await second.tokenize(merchantId, { card: visa });
  assert.equal(one.card?.fingerprint, two.card?.fingerprint);
  assert.notEqual(one.card?.fingerprint, stored.card?.fingerprint);
  await assert.rejects(
    openVault(vaultContext(database.sql, clock, { VAULT_FINGERPRINT_KEY: 'abcd' })),
    (error: unknown) =>
      error instanceof Error &&
      /VAULT_FINGERPRINT_KEY/.test(error.message) &&
      !error.message.includes('abcd'),
  );
});
