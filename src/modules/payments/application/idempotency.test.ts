import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError } from '../../../platform/errors.ts';
import { requestFingerprint, requireIdempotencyKey } from './idempotency.ts';

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
