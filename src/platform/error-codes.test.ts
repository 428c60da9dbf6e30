// The catalogue of problem codes: well-formed entries, the acquirer's decline codes all in it, and an
// unlisted decline code answered as card_declined.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acquirerDeclineCodes, declineProblemCode, errorCatalogue, isErrorCode } from './error-codes.ts';
import { testCards } from '../simulator/test-cards.ts';

test('every code is snake_case with 4xx/5xx statuses, a meaning and an action', () => {
  for (const [code, entry] of Object.entries(errorCatalogue)) {
    assert.match(code, /^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$/, code);
    assert.ok(entry.status.length > 0, code);
    for (const status of entry.status) assert.ok(status >= 400 && status <= 599, `${code} ${status}`);
    assert.ok(entry.meaning.length > 10 && entry.action.length > 2, code);
  }
});

test("every decline code the simulator's test cards produce, and each passed-through one, is a 422 code", () => {
  const fromCards = [...testCards.values()].flatMap((outcome) => outcome.declineCode ?? []);
  assert.ok(fromCards.length >= 5);
  for (const code of [...fromCards, ...acquirerDeclineCodes]) {
    assert.ok(isErrorCode(code), code);
    assert.deepEqual([...errorCatalogue[code].status], [422], code);
    assert.equal(declineProblemCode(code), code);
  }
  assert.equal(declineProblemCode('do_not_honor'), 'card_declined');
  assert.equal(declineProblemCode(null), 'card_declined');
  assert.equal(isErrorCode('toString'), false);
});
