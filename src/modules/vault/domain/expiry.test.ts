import assert from 'node:assert/strict';
import { test } from 'node:test';

import { isExpired, parseExpiryMonth, parseExpiryYear, validateExpiry } from './expiry.ts';

const now = new Date('2026-05-15T12:00:00Z');

test('months are 1–12 as integers or one or two ASCII digits', () => {
  assert.equal(parseExpiryMonth(1), 1);
  assert.equal(parseExpiryMonth('01'), 1);
  assert.equal(parseExpiryMonth('12'), 12);
  for (const raw of [0, 13, '0', '13', '1.0', 1.5, ' 1', '١', null, {}])
    assert.equal(parseExpiryMonth(raw), null);
});

test('two-digit years mean 20xx; years stay within 2000 and 50 years ahead', () => {
  assert.equal(parseExpiryYear(30, now), 2030);
  assert.equal(parseExpiryYear('30', now), 2030);
  assert.equal(parseExpiryYear('2030', now), 2030);
  assert.equal(parseExpiryYear(2076, now), 2076);
  for (const raw of [2077, 1999, '999', '20301', 2030.5, -1, null])
    assert.equal(parseExpiryYear(raw, now), null);
});

test('a card expires at the first instant of the month after its expiry month', () => {
  assert.equal(isExpired({ expMonth: 5, expYear: 2026 }, new Date('2026-05-31T23:59:59.999Z')), false);
  assert.equal(isExpired({ expMonth: 5, expYear: 2026 }, new Date('2026-06-01T00:00:00Z')), true);
  assert.equal(isExpired({ expMonth: 12, expYear: 2026 }, new Date('2027-01-01T00:00:00Z')), true);
});

test('validateExpiry reports codes in precedence order', () => {
  assert.deepEqual(validateExpiry(5, 2026, now), { ok: true, expiry: { expMonth: 5, expYear: 2026 } });
  const codeOf = (month: unknown, year: unknown) => {
    const result = validateExpiry(month, year, now);
    return result.ok ? 'ok' : result.code;
  };
  assert.equal(codeOf(13, 1990), 'invalid_expiry_month');
  assert.equal(codeOf(4, 1990), 'invalid_expiry_year');
  assert.equal(codeOf(4, 2026), 'expired_card');
});
