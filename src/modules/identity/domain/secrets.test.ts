import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateClientSecret, hashClientSecret, verifyClientSecret } from './secrets.ts';

test('a secret verifies against its own hash only', async () => {
  const secret = generateClientSecret();
  const hash = await hashClientSecret(secret);
  assert.match(hash, /^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  assert.ok(!hash.includes(secret.slice(3)));
  assert.equal(await verifyClientSecret(secret, hash), true);
  assert.equal(await verifyClientSecret(`${secret}x`, hash), false);
  assert.equal(await verifyClientSecret(generateClientSecret(), hash), false);
});

test('two hashes of one secret differ (salted), an unknown client never verifies', async () => {
  const secret = generateClientSecret();
  assert.notEqual(await hashClientSecret(secret), await hashClientSecret(secret));
  assert.equal(await verifyClientSecret(secret, undefined), false);
  assert.equal(await verifyClientSecret('x'.repeat(201), await hashClientSecret('x'.repeat(201))), false);
  assert.equal(await verifyClientSecret(secret, 'bcrypt$whatever'), false);
});
