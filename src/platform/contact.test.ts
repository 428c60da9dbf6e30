import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isEmailAddress, isPhoneNumber, maskEmailAddress, maskPhoneNumber } from './contact.ts';

test('email addresses: a practical subset, no spaces, control characters or header tricks', () => {
  for (const good of ['jane@example.com', 'j.doe+receipts@mail.example.co.uk', 'a@b.io'])
    assert.equal(isEmailAddress(good), true, good);
  for (const bad of [
    '',
    'jane',
    'jane@',
    '@example.com',
    'jane@example',
    'jane@@example.com',
    'jane doe@example.com',
    'jane@example.com\r\nBcc: x@evil.test',
    'jane\u0000@example.com',
    'Jane <jane@example.com>',
    'a,b@example.com',
    'jane@example.',
    `${'x'.repeat(250)}@example.com`,
  ])
    assert.equal(isEmailAddress(bad), false, JSON.stringify(bad));
});

test('phone numbers are E.164', () => {
  for (const good of ['+447700900123', '+14155550100', '+4912345678'])
    assert.equal(isPhoneNumber(good), true);
  for (const bad of ['447700900123', '+0447700900123', '+44 7700 900123', '+1234567', '+1234567890123456'])
    assert.equal(isPhoneNumber(bad), false, bad);
});

test('masking keeps the first character and the domain of an email, the prefix and last digits of a phone', () => {
  assert.equal(maskEmailAddress('jane@example.com'), 'j***@example.com');
  assert.equal(maskEmailAddress('x@payflow.local'), 'x***@payflow.local');
  assert.equal(maskEmailAddress('no-at-sign'), '***');
  assert.equal(maskPhoneNumber('+447700900123'), '+44***23');
  assert.equal(maskPhoneNumber('not a number'), '***');
  assert.ok(!maskPhoneNumber('+447700900123').includes('7700900'));
});
