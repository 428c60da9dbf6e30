import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { inspect } from 'node:util';

import {
  decryptSecret,
  encryptSecret,
  envelopeFormatVersion,
  generateKeyringFile,
  Keyring,
  needsRewrap,
  parseMasterKey,
  rewrap,
  rotateKeyringFile,
  VaultCryptoError,
  type EncryptedSecret,
} from './envelope.ts';

const keyVersion1 = randomBytes(32);
const keyVersion2 = randomBytes(32);
const keyringV1 = new Keyring({ activeVersion: 1, keys: [{ version: 1, key: keyVersion1 }] });
const keyringV1V2 = new Keyring({
  activeVersion: 2,
  keys: [
    { version: 1, key: keyVersion1 },
    { version: 2, key: keyVersion2 },
  ],
});
const keyringV2 = new Keyring({ activeVersion: 2, keys: [{ version: 2, key: keyVersion2 }] });
const plaintext = Buffer.from('4242424242424242', 'ascii');
const tokenId = 'tok_01jd3m5x8k2v7q9w4e6r1t0y3u';

function assertVaultError(call: () => unknown, code: string): void {
  assert.throws(call, (error: unknown) => error instanceof VaultCryptoError && error.code === code);
}

function flipped(buffer: Buffer, index: number): Buffer {
  const copy = Buffer.from(buffer);
  copy[index] = copy[index]! ^ 0x01;
  return copy;
}

test('a secret round-trips and the record follows the documented layout', () => {
  const record = encryptSecret(plaintext, tokenId, keyringV1);
  assert.equal(record.keyVersion, 1);
  assert.equal(record.wrappedKey.length, 1 + 12 + 16 + 32);
  assert.equal(record.ciphertext.length, 1 + 12 + 16 + plaintext.length);
  assert.equal(record.wrappedKey[0], envelopeFormatVersion);
  assert.equal(record.ciphertext[0], envelopeFormatVersion);
  assert.ok(!record.ciphertext.includes(plaintext));
  assert.deepEqual(decryptSecret(record, tokenId, keyringV1), plaintext);
  assert.deepEqual(
    decryptSecret(encryptSecret(Buffer.alloc(0), tokenId, keyringV1), tokenId, keyringV1),
    Buffer.alloc(0),
  );
});

test('each encryption uses a fresh data key and IV', () => {
  const first = encryptSecret(plaintext, tokenId, keyringV1);
  const second = encryptSecret(plaintext, tokenId, keyringV1);
  assert.notDeepEqual(first.ciphertext, second.ciphertext);
  assert.notDeepEqual(first.wrappedKey, second.wrappedKey);
});

test('the ciphertext is bound to its token id (AAD)', () => {
  const record = encryptSecret(plaintext, tokenId, keyringV1);
  assertVaultError(() => decryptSecret(record, 'tok_other', keyringV1), 'decrypt_failed');
  // A ciphertext grafted onto another token's record fails too, even with that token's data key.
  const otherRecord = encryptSecret(Buffer.from('5555555555554444'), 'tok_other', keyringV1);
  assertVaultError(
    () => decryptSecret({ ...otherRecord, ciphertext: record.ciphertext }, 'tok_other', keyringV1),
    'decrypt_failed',
  );
});

test('changing any byte of the ciphertext or wrapped key is detected', () => {
  const record = encryptSecret(plaintext, tokenId, keyringV1);
  for (let index = 0; index < record.ciphertext.length; index += 1) {
    const tampered = { ...record, ciphertext: flipped(record.ciphertext, index) };
    assertVaultError(() => decryptSecret(tampered, tokenId, keyringV1), 'decrypt_failed');
  }
  for (let index = 0; index < record.wrappedKey.length; index += 1) {
    const tampered = { ...record, wrappedKey: flipped(record.wrappedKey, index) };
    assertVaultError(() => decryptSecret(tampered, tokenId, keyringV1), 'decrypt_failed');
  }
});

test('truncated, extended or malformed records are decrypt_failed', () => {
  const record = encryptSecret(plaintext, tokenId, keyringV1);
  const malformed: readonly EncryptedSecret[] = [
    { ...record, ciphertext: record.ciphertext.subarray(0, record.ciphertext.length - 1) },
    { ...record, ciphertext: Buffer.concat([record.ciphertext, Buffer.from([0])]) },
    { ...record, ciphertext: record.ciphertext.subarray(0, 10) },
    { ...record, ciphertext: Buffer.alloc(0) },
    { ...record, wrappedKey: record.wrappedKey.subarray(0, 60) },
    { ...record, wrappedKey: Buffer.concat([record.wrappedKey, Buffer.from([0])]) },
    { ...record, ciphertext: 'not a buffer' as unknown as Buffer },
    { ...record, wrappedKey: null as unknown as Buffer },
  ];
  for (const tampered of malformed)
    assertVaultError(() => decryptSecret(tampered, tokenId, keyringV1), 'decrypt_failed');
});

test('a record relabelled with another key version does not decrypt', () => {
  const record = encryptSecret(plaintext, tokenId, keyringV1V2);
  assert.equal(record.keyVersion, 2);
  assertVaultError(() => decryptSecret({ ...record, keyVersion: 1 }, tokenId, keyringV1V2), 'decrypt_failed');
  for (const keyVersion of [3, 0, -1, 1.5, NaN]) {
    assertVaultError(
      () => decryptSecret({ ...record, keyVersion }, tokenId, keyringV1V2),
      'unknown_key_version',
    );
  }
});

test('rotation: v1 records still decrypt, rewrap moves them to v2, a keyring without v1 refuses them', () => {
  const record = encryptSecret(plaintext, tokenId, keyringV1);
  assert.equal(record.keyVersion, 1);
  assert.deepEqual(decryptSecret(record, tokenId, keyringV1V2), plaintext);
  assert.equal(needsRewrap(record, keyringV1V2), true);

  const rewrapped = rewrap(record, keyringV1V2);
  assert.equal(rewrapped.keyVersion, 2);
  assert.equal(rewrapped.ciphertext, record.ciphertext, 'the ciphertext is untouched');
  assert.notDeepEqual(rewrapped.wrappedKey, record.wrappedKey);
  assert.equal(needsRewrap(rewrapped, keyringV1V2), false);
  assert.deepEqual(decryptSecret(rewrapped, tokenId, keyringV2), plaintext);
  assert.deepEqual(decryptSecret(rewrapped, tokenId, keyringV1V2), plaintext);

  assertVaultError(() => decryptSecret(record, tokenId, keyringV2), 'unknown_key_version');
  assertVaultError(() => rewrap(record, keyringV2), 'unknown_key_version');
  assert.equal(rewrap(rewrapped, keyringV1V2), rewrapped, 'already current: returned unchanged');
  assertVaultError(
    () => rewrap({ ...record, wrappedKey: flipped(record.wrappedKey, 40) }, keyringV1V2),
    'decrypt_failed',
  );
});

test('a keyring rejects bad keys and never prints its key material', () => {
  const invalidKeyrings = [
    { activeVersion: 1, keys: [] },
    { activeVersion: 1, keys: [{ version: 1, key: randomBytes(31) }] },
    { activeVersion: 1, keys: [{ version: 1, key: Buffer.alloc(32) }] },
    { activeVersion: 2, keys: [{ version: 1, key: keyVersion1 }] },
    { activeVersion: 0, keys: [{ version: 0, key: keyVersion1 }] },
    {
      activeVersion: 1,
      keys: [
        { version: 1, key: keyVersion1 },
        { version: 1, key: keyVersion2 },
      ],
    },
    {
      activeVersion: 2,
      keys: [
        { version: 1, key: keyVersion1 },
        { version: 2, key: keyVersion1 },
      ],
    },
  ];
  for (const options of invalidKeyrings) {
    assertVaultError(() => new Keyring(options), 'invalid_key');
  }
  for (const printed of [
    inspect(keyringV1V2, { showHidden: true, depth: Infinity }),
    JSON.stringify(keyringV1V2),
  ]) {
    for (const key of [keyVersion1, keyVersion2]) {
      assert.ok(!printed.includes(key.toString('base64')) && !printed.includes(key.toString('hex')), printed);
    }
  }
  assert.deepEqual(keyringV1V2.versions, [1, 2]);
});

test('the keyring keeps its own copy of each key', () => {
  const key = randomBytes(32);
  const keyring = new Keyring({ activeVersion: 1, keys: [{ version: 1, key }] });
  const record = encryptSecret(plaintext, tokenId, keyring);
  key.fill(0);
  assert.deepEqual(decryptSecret(record, tokenId, keyring), plaintext);
});

test('parseMasterKey accepts a 32-byte key as hex or base64, as version 1', () => {
  const key = randomBytes(32);
  const record = encryptSecret(
    plaintext,
    tokenId,
    new Keyring({ activeVersion: 1, keys: [{ version: 1, key }] }),
  );
  for (const text of [
    key.toString('hex'),
    key.toString('hex').toUpperCase(),
    key.toString('base64'),
    `${key.toString('base64')}\n`,
    key.toString('base64url'),
  ]) {
    const keyring = parseMasterKey(text);
    assert.equal(keyring.activeVersion, 1);
    assert.deepEqual(decryptSecret(record, tokenId, keyring), plaintext);
  }
});

test('parseMasterKey rejects other text without quoting it', () => {
  const key = randomBytes(32);
  const base64 = key.toString('base64');
  const rejected = [
    '',
    randomBytes(31).toString('base64'),
    randomBytes(33).toString('hex'),
    key.toString('hex').slice(1),
    '0'.repeat(64),
    `${base64.slice(0, 20)} ${base64.slice(20)}`,
    '{"active": 1}',
    '{"active": 1, "keys": {}}',
    `{"active": 2, "keys": {"1": "${base64}"}}`,
    `{"active": 1, "keys": {"01": "${base64}"}}`,
    `{"active": "1", "keys": {"1": "${base64}"}}`,
    `{"active": 1, "keys": {"1": "${base64}"`,
    `{"active": 1, "keys": ["${base64}"]}`,
  ];
  for (const text of rejected) {
    assert.throws(
      () => parseMasterKey(text),
      (error: unknown) =>
        error instanceof VaultCryptoError &&
        error.code === 'invalid_key' &&
        !error.message.includes(base64.slice(0, 8)),
      text,
    );
  }
});

test('a base64 key with non-zero spare bits is rejected as a likely typo', () => {
  // 32 bytes in base64 leave 2 unused bits in the 43rd character; canonical encoders write zeros.
  const canonical = Buffer.alloc(32, 0x11).toString('base64');
  const lastDigit = canonical.at(42)!;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const withSpareBit = `${canonical.slice(0, 42)}${alphabet[alphabet.indexOf(lastDigit) + 1]}=`;
  assert.equal(Buffer.from(withSpareBit, 'base64').length, 32);
  assertVaultError(() => parseMasterKey(withSpareBit), 'invalid_key');
  assert.equal(parseMasterKey(canonical).activeVersion, 1);
});

test('generateKeyringFile and rotateKeyringFile produce keyrings that read old records', () => {
  const file = generateKeyringFile();
  const parsedFile: unknown = JSON.parse(file);
  assert.equal((parsedFile as { active: number }).active, 1);
  const keyring = parseMasterKey(file);
  assert.deepEqual(keyring.versions, [1]);
  const record = encryptSecret(plaintext, tokenId, keyring);

  const rotatedFile = rotateKeyringFile(file);
  const rotated = parseMasterKey(rotatedFile);
  assert.equal(rotated.activeVersion, 2);
  assert.deepEqual(rotated.versions, [1, 2]);
  assert.deepEqual(decryptSecret(record, tokenId, rotated), plaintext);
  assert.equal(rewrap(record, rotated).keyVersion, 2);
  assert.notEqual(generateKeyringFile(), file, 'each file holds a fresh random key');
});

test('a keyring file in the documented format parses', () => {
  const text = JSON.stringify({
    active: 2,
    keys: { '1': keyVersion1.toString('base64'), '2': keyVersion2.toString('base64') },
  });
  const keyring = parseMasterKey(text);
  assert.equal(keyring.activeVersion, 2);
  const record = encryptSecret(plaintext, tokenId, keyringV1);
  assert.deepEqual(decryptSecret(record, tokenId, keyring), plaintext);
  assert.equal(encryptSecret(plaintext, tokenId, keyring).keyVersion, 2);
});
