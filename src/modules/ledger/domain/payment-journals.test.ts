import { test } from 'node:test';
import assert from 'node:assert/strict';
import { amountMaxMinor } from '../../../platform/money.ts';
import { merchantAccounts } from './accounts.ts';
import { assertBalanced, type Journal } from './journal.ts';
import {
  authorizationHold,
  authorizeAndCaptureJournals,
  captureJournal,
  expiryJournal,
  refundJournal,
  voidJournal,
  type PaymentLedgerRef,
} from './payment-journals.ts';

const payment: PaymentLedgerRef = { paymentId: 'pay_1', merchantId: 'mer_1', currency: 'USD' };
const accounts = merchantAccounts('mer_1', 'USD');
const stamp = (journalId: string) => ({ journalId, occurredAt: new Date('2026-02-07T15:04:05Z') });

/** Postings as `account amount` lines, to compare whole journals at a glance. */
function lines(journal: Journal): string[] {
  return journal.postings.map((posting) => `${posting.accountCode} ${posting.amount} ${posting.currency}`);
}

test('an authorization holds the amount: debit holds, credit contra', () => {
  const journal = authorizationHold(payment, { authorized: 1000n }, stamp('jnl_1'));
  assertBalanced(journal);
  assert.equal(journal.kind, 'authorization_hold');
  assert.equal(journal.paymentId, 'pay_1');
  assert.equal(journal.journalId, 'jnl_1');
  assert.deepEqual(lines(journal), [
    `${accounts.authorization_holds} 1000 USD`,
    `${accounts.authorization_hold_contra} -1000 USD`,
  ]);
});

test('a partial capture releases the whole hold and posts only the captured part', () => {
  const journal = captureJournal(payment, { captured: 600n, authorized: 1000n }, stamp('jnl_2'));
  assertBalanced(journal);
  assert.equal(journal.kind, 'capture');
  assert.deepEqual(lines(journal), [
    `${accounts.authorization_holds} -1000 USD`,
    `${accounts.authorization_hold_contra} 1000 USD`,
    `${accounts.receivable_from_acquirer} 600 USD`,
    `${accounts.payable} -600 USD`,
  ]);
});

test('a capture above the authorization cannot be built', () => {
  assert.throws(
    () => captureJournal(payment, { captured: 1001n, authorized: 1000n }, stamp('j')),
    assert.AssertionError,
  );
  assert.throws(
    () => captureJournal(payment, { captured: 0n, authorized: 1000n }, stamp('j')),
    assert.AssertionError,
  );
});

test('void and expiry release the whole hold', () => {
  for (const [build, kind] of [
    [voidJournal, 'void'],
    [expiryJournal, 'expiry'],
  ] as const) {
    const journal = build(payment, { authorized: 1000n }, stamp('jnl_3'));
    assertBalanced(journal);
    assert.equal(journal.kind, kind);
    assert.deepEqual(lines(journal), [
      `${accounts.authorization_holds} -1000 USD`,
      `${accounts.authorization_hold_contra} 1000 USD`,
    ]);
  }
});

test('a refund debits the merchant payable and credits refunds', () => {
  const journal = refundJournal(payment, { refundAmount: 200n }, stamp('jnl_4'));
  assertBalanced(journal);
  assert.equal(journal.kind, 'refund');
  assert.deepEqual(lines(journal), [`${accounts.payable} 200 USD`, `${accounts.refunds} -200 USD`]);
});

test('a sale is a hold and its full capture', () => {
  const [hold, capture] = authorizeAndCaptureJournals(
    { paymentId: 'pay_2', merchantId: 'mer_1', currency: 'JPY' },
    { amount: 5000n },
    { hold: stamp('jnl_5'), capture: stamp('jnl_6') },
  );
  assertBalanced(hold);
  assertBalanced(capture);
  assert.equal(hold.kind, 'authorization_hold');
  assert.equal(capture.kind, 'capture');
  assert.ok(capture.postings.every((posting) => posting.currency === 'JPY'));
  assert.throws(
    () =>
      authorizeAndCaptureJournals(payment, { amount: 1n }, { hold: stamp('same'), capture: stamp('same') }),
    assert.AssertionError,
  );
});

test('amounts outside 1..amountMaxMinor cannot be journaled', () => {
  assert.throws(() => authorizationHold(payment, { authorized: 0n }, stamp('j')), assert.AssertionError);
  assert.throws(
    () => authorizationHold(payment, { authorized: amountMaxMinor + 1n }, stamp('j')),
    assert.AssertionError,
  );
  assert.throws(() => refundJournal(payment, { refundAmount: -5n }, stamp('j')), assert.AssertionError);
  assertBalanced(authorizationHold(payment, { authorized: amountMaxMinor }, stamp('j')));
});
