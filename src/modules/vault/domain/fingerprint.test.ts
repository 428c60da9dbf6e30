import assert from 'node:assert/strict';
import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { test } from 'node:test';

import { cardFingerprint } from './fingerprint.ts';

const fingerprintKey = randomBytes(32);

test('the fingerprint is stable for one merchant and card', () => {
  const first = cardFingerprint('4242424242424242', 'mer_a', fingerprintKey);
  assert.equal(cardFingerprint('4242424242424242', 'mer_a', fingerprintKey), first);
  assert.match(first, /^[A-Za-z0-9_-]{22}$/);
});

test('fingerprints differ across merchants, cards and root keys', () => {
  const fingerprint = cardFingerprint('4242424242424242', 'mer_a', fingerprintKey);
  assert.notEqual(cardFingerprint('4242424242424242', 'mer_b', fingerprintKey), fingerprint);
  assert.notEqual(cardFingerprint('5555555555554444', 'mer_a', fingerprintKey), fingerprint);
  assert.notEqual(cardFingerprint('4242424242424242', 'mer_a', randomBytes(32)), fingerprint);
});

test('the fingerprint is keyed, never a plain hash of the number', () => {
  const fingerprint = cardFingerprint('4242424242424242', 'mer_a', fingerprintKey);
  for (const algorithm of ['sha256', 'sha1', 'sha512']) {
    const plainHash = createHash(algorithm).update('4242424242424242').digest('base64url');
    assert.ok(!plainHash.startsWith(fingerprint), algorithm);
  }
});

test('the fingerprint matches HKDF-SHA256 then HMAC-SHA256 as documented', () => {
  const salt = Buffer.from('payflow/vault/card-fingerprint/v1', 'utf8');
  const merchantKey = Buffer.from(hkdfSync('sha256', fingerprintKey, salt, 'mer_a', 32));
  const expected = createHmac('sha256', merchantKey)
    .update('4242424242424242')
    .digest('base64url')
    .slice(0, 22);
  assert.equal(cardFingerprint('4242424242424242', 'mer_a', fingerprintKey), expected);
});

test('bad arguments throw without quoting the card number', () => {
  const calls: readonly (() => string)[] = [
    () => cardFingerprint('4242 4242 4242 4242', 'mer_a', fingerprintKey),
    () => cardFingerprint('4242424242424242', '', fingerprintKey),
    () => cardFingerprint('4242424242424242', 'm'.repeat(256), fingerprintKey),
    () => cardFingerprint('4242424242424242', 'mer_a', randomBytes(16)),
  ];
  for (const call of calls) {
    assert.throws(call, (error: unknown) => error instanceof TypeError && !error.message.includes('4242'));
  }
});
