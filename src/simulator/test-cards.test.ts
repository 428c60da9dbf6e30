import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lastFour, outcomeForAccountNumber, passesLuhn, testCards } from './test-cards.ts';

test('every number in the test card table passes Luhn', () => {
  for (const number of testCards.keys()) assert.ok(passesLuhn(number), number);
});

test('Luhn rejects a changed digit and non-digits', () => {
  assert.equal(passesLuhn('4242424242424242'), true);
  assert.equal(passesLuhn('4242424242424241'), false);
  assert.equal(passesLuhn('79927398713'), true);
  assert.equal(passesLuhn('4242-4242'), false);
  assert.equal(passesLuhn(''), false);
});

test('unknown numbers are approved when Luhn-valid, declined incorrect_number otherwise', () => {
  assert.deepEqual(outcomeForAccountNumber('6011111111111117'), { status: 'approved', behaviour: 'normal' });
  assert.deepEqual(outcomeForAccountNumber('6011111111111118'), {
    status: 'declined',
    declineCode: 'incorrect_number',
    behaviour: 'normal',
  });
});

test('lastFour keeps only the last four digits', () => {
  assert.equal(lastFour('4242424242424242'), '4242');
});
