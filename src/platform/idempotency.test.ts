import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError } from './errors.ts';
import { optionalIdempotencyKey, requestFingerprint, requireIdempotencyKey } from './idempotency.ts';

test('the fingerprint covers method, path and body, not the order of keys', () => {
  const body = { amount: 1000, currency: 'USD', paymentMethod: { type: 'card', token: 'tok_1' } };
  const reordered = { paymentMethod: { token: 'tok_1', type: 'card' }, currency: 'USD', amount: 1000 };
  const fingerprint = requestFingerprint('POST', '/payments/authorize', body);
  assert.match(fingerprint, /^[0-9a-f]{64}$/);
  assert.equal(requestFingerprint('post', '/payments/authorize', reordered), fingerprint);
  assert.notEqual(requestFingerprint('POST', '/payments/authorize', { ...body, amount: 1001 }), fingerprint);
  assert.notEqual(requestFingerprint('POST', '/payments/pay_x/capture', body), fingerprint);
});

test('the key is required, at most 255 visible ASCII characters', () => {
  const code = (value: string | undefined) => {
    try {
      requireIdempotencyKey(value);
      return 'ok';
    } catch (error) {
      return error instanceof DomainError ? `${error.status} ${error.code}` : 'crash';
    }
  };
  assert.equal(code(undefined), '400 idempotency_key_required');
  assert.equal(code(' '), '400 idempotency_key_required');
  assert.equal(code('k'.repeat(255)), 'ok');
  assert.equal(code('k'.repeat(256)), '400 idempotency_key_invalid');
  assert.equal(code('has space'), '400 idempotency_key_invalid');
});

test('an optional key is undefined when absent and checked like a required one when sent', () => {
  assert.equal(optionalIdempotencyKey(undefined), undefined);
  assert.equal(optionalIdempotencyKey('k-1'), 'k-1');
  assert.throws(() => optionalIdempotencyKey(''), { code: 'idempotency_key_invalid' });
  assert.throws(() => optionalIdempotencyKey('k'.repeat(256)), { code: 'idempotency_key_invalid' });
});

test('a keyed fingerprint depends on the key and differs from the plain hash', () => {
  const body = { card: { number: '4242424242424242', expMonth: 12, expYear: 2030 } };
  const plain = requestFingerprint('POST', '/tokens', body);
  const keyed = requestFingerprint('POST', '/tokens', body, Buffer.alloc(32, 1));
  assert.match(keyed, /^[0-9a-f]{64}$/);
  assert.notEqual(keyed, plain);
  assert.notEqual(requestFingerprint('POST', '/tokens', body, Buffer.alloc(32, 2)), keyed);
  assert.equal(requestFingerprint('POST', '/tokens', body, Buffer.alloc(32, 1)), keyed);
});
