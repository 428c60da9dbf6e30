import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertEventType, toJsonPayload } from './envelope.ts';
import { amountMaxMinor, totalToJson } from '../../../platform/money.ts';

test('bigint amounts become JSON integers, dates ISO strings, undefined properties vanish', () => {
  const payload = toJsonPayload({
    paymentId: 'pay_1',
    amount: 1000n,
    refunds: [{ amount: 250n, at: new Date('2026-02-07T15:04:05Z') }],
    note: undefined,
    flags: { test: true, count: 3, nothing: null },
  });
  assert.deepEqual(payload, {
    paymentId: 'pay_1',
    amount: 1000,
    refunds: [{ amount: 250, at: '2026-02-07T15:04:05.000Z' }],
    flags: { test: true, count: 3, nothing: null },
  });
  assert.equal(JSON.stringify(payload), JSON.stringify(JSON.parse(JSON.stringify(payload))));
});

test('keys that could carry card data are refused at any depth, in any spelling', () => {
  for (const key of ['number', 'cvc', 'pan', 'CVV', 'card_number', 'cardNumber', 'security-code']) {
    assert.throws(() => toJsonPayload({ [key]: 'x' }), { name: 'AssertionError', message: /card data/ });
    assert.throws(() => toJsonPayload({ card: { [key]: 'x' } }), { name: 'AssertionError' });
    assert.throws(() => toJsonPayload({ list: [{ [key]: 'x' }] }), { name: 'AssertionError' });
  }
  assert.deepEqual(toJsonPayload({ last4: '4242', brand: 'visa' }), { last4: '4242', brand: 'visa' });
});

test('values JSON cannot carry exactly are refused', () => {
  // A bigint is one operation's amount; a sum is staged as a string by totalToJson (ADR 27).
  assert.throws(() => toJsonPayload({ amount: 2n ** 60n }), /totalToJson/);
  assert.throws(() => toJsonPayload({ amount: amountMaxMinor + 1n }), /totalToJson/);
  assert.deepEqual(toJsonPayload({ amount: amountMaxMinor, net: totalToJson(2n ** 60n) }), {
    amount: 99_999_999_999,
    net: '1152921504606846976',
  });
  assert.throws(() => toJsonPayload({ ratio: Number.NaN }), /finite/);
  assert.throws(() => toJsonPayload({ at: new Date(Number.NaN) }), /invalid date/);
  assert.throws(() => toJsonPayload({ callback: () => 1 }), /not JSON data/);
  assert.throws(() => toJsonPayload({ set: new Set([1]) }), /not JSON data/);
  assert.throws(() => toJsonPayload({ big: 'x'.repeat(70_000) }), /bytes/);
  let deep: Record<string, unknown> = {};
  for (let index = 0; index < 20; index += 1) deep = { deep };
  assert.throws(() => toJsonPayload(deep), /nested deeper/);
});

test('event types are versioned: <aggregate>.<event>.v<N>', () => {
  for (const type of ['payment.captured.v1', 'settlement.completed.v2', 'payment.partially_refunded.v10'])
    assert.doesNotThrow(() => assertEventType(type));
  for (const type of ['payment.captured', 'captured.v1', 'Payment.captured.v1', 'payment.captured.v0', ''])
    assert.throws(() => assertEventType(type), { name: 'AssertionError' });
});
