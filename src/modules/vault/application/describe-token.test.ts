import assert from 'node:assert/strict';
import test from 'node:test';
import { createDescriptionCache, type TokenDescription } from './describe-token.ts';

const card = (token: string): TokenDescription => ({
  token,
  card: { brand: 'visa', bin: '42424242', last4: '4242', expMonth: 12, expYear: 2030, fingerprint: 'f' },
});

test('the description cache is scoped by merchant and keeps the most recently used within its bound', () => {
  const cache = createDescriptionCache(2);
  cache.put('mer_a', card('tok_1'));
  assert.deepEqual(cache.get('mer_a', 'tok_1'), card('tok_1'));
  assert.equal(cache.get('mer_b', 'tok_1'), undefined, 'another merchant never gets a description');
  cache.put('mer_a', card('tok_2'));
  cache.get('mer_a', 'tok_1'); // tok_1 used last: tok_2 is now the least recently used
  cache.put('mer_a', card('tok_3'));
  assert.equal(cache.get('mer_a', 'tok_2'), undefined, 'the least recently used left first');
  assert.deepEqual(cache.get('mer_a', 'tok_1'), card('tok_1'));
  assert.deepEqual(cache.get('mer_a', 'tok_3'), card('tok_3'));
});
