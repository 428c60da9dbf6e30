import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertBalanced, credit, debit, journalPostingsMax, type Journal, type Posting } from './journal.ts';

const occurredAt = new Date('2026-02-07T15:04:05Z');

function journalOf(postings: Posting[]): Journal {
  return { journalId: 'jnl_test', kind: 'capture', paymentId: 'pay_test', postings, occurredAt };
}

test('a journal whose postings sum to zero per currency is balanced', () => {
  assertBalanced(journalOf([debit('a', 100n, 'USD'), credit('b', 100n, 'USD')]));
  assertBalanced(
    journalOf([
      debit('a', 100n, 'USD'),
      credit('b', 60n, 'USD'),
      credit('c', 40n, 'USD'),
      debit('d', 7n, 'JPY'),
      credit('e', 7n, 'JPY'),
    ]),
  );
});

test('an unbalanced journal is a programmer error', () => {
  assert.throws(
    () => assertBalanced(journalOf([debit('a', 100n, 'USD'), credit('b', 99n, 'USD')])),
    /unbalanced in USD/,
  );
  // Balanced in total but not per currency: still refused.
  assert.throws(
    () => assertBalanced(journalOf([debit('a', 100n, 'USD'), credit('b', 100n, 'EUR')])),
    assert.AssertionError,
  );
});

test('a journal needs at least two postings, none of them zero', () => {
  assert.throws(() => assertBalanced(journalOf([])), /at least 2/);
  assert.throws(() => assertBalanced(journalOf([debit('a', 1n, 'USD')])), /at least 2/);
  const zero: Posting = { accountCode: 'c', amount: 0n, currency: 'USD' };
  assert.throws(
    () => assertBalanced(journalOf([debit('a', 1n, 'USD'), credit('b', 1n, 'USD'), zero])),
    /zero posting/,
  );
  const unnamed: Posting = { accountCode: '', amount: 1n, currency: 'USD' };
  assert.throws(() => assertBalanced(journalOf([unnamed, credit('b', 1n, 'USD')])), /without an account/);
});

test('a journal has a bounded number of postings', () => {
  const postings: Posting[] = [];
  for (let index = 0; index <= journalPostingsMax / 2; index += 1) {
    postings.push(debit(`a${index}`, 1n, 'USD'), credit(`b${index}`, 1n, 'USD'));
  }
  assert.throws(() => assertBalanced(journalOf(postings)), /exceeds/);
});

test('debit is positive and credit negative; both take positive amounts', () => {
  assert.deepEqual(debit('a', 5n, 'USD'), { accountCode: 'a', amount: 5n, currency: 'USD' });
  assert.deepEqual(credit('a', 5n, 'USD'), { accountCode: 'a', amount: -5n, currency: 'USD' });
  assert.throws(() => debit('a', 0n, 'USD'), assert.AssertionError);
  assert.throws(() => credit('a', -5n, 'USD'), assert.AssertionError);
});
