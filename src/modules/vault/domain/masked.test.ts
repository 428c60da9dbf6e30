import assert from 'node:assert/strict';
import { test } from 'node:test';
import { format, inspect } from 'node:util';

import { redactedText, Secret } from './masked.ts';

const cardNumber = '4242424242424242';

function assertRedacted(printed: string): void {
  assert.ok(!printed.includes(cardNumber), `leaked: ${printed}`);
  assert.ok(printed.includes(redactedText), `not redacted: ${printed}`);
}

test('a Secret prints [redacted] in every conversion to text', () => {
  const secret = new Secret(cardNumber);
  const payment = { card: { number: secret, last4: '4242' } };
  assertRedacted(JSON.stringify(secret));
  assertRedacted(JSON.stringify(payment));
  assertRedacted(`${secret}`);
  assertRedacted(String(secret));
  assertRedacted('' + secret);
  assertRedacted(inspect(secret));
  assertRedacted(inspect(payment, { depth: Infinity, showHidden: true }));
  assertRedacted(format('%s %o %O %j', secret, secret, payment, payment));
  assert.equal(`${secret}`, '[redacted]');
});

test('the value is reachable only through reveal()', () => {
  const secret = new Secret(cardNumber);
  assert.equal(secret.reveal(), cardNumber);
  assert.deepEqual(Object.keys(secret), []);
  assert.deepEqual(Reflect.ownKeys(secret), []);
  assert.ok(!JSON.stringify({ ...secret }).includes(cardNumber));
  assert.ok(!inspect(structuredClone(secret), { showHidden: true }).includes(cardNumber));
});

test('map derives a new Secret without exposing the value', () => {
  const lastFour = new Secret(cardNumber).map((digits) => digits.slice(-4));
  assert.ok(lastFour instanceof Secret);
  assert.equal(lastFour.reveal(), '4242');
  assert.equal(String(lastFour), redactedText);
});

test('isSecret recognises Secrets and never throws, even on a revoked Proxy', () => {
  const revocable = Proxy.revocable({}, {});
  revocable.revoke();
  assert.equal(Secret.isSecret(new Secret(1)), true);
  for (const value of [null, undefined, cardNumber, {}, revocable.proxy, new Proxy(new Secret(1), {})]) {
    assert.equal(Secret.isSecret(value), false);
  }
});
