import { test } from 'node:test';
import assert from 'node:assert/strict';
import { merchantAccounts } from './accounts.ts';
import { foldBalances, merchantBalance, paymentBalance, postingsOf, sumsByCurrency } from './balances.ts';
import { credit, debit, type Journal } from './journal.ts';
import {
  authorizationHold,
  captureJournal,
  refundJournal,
  type PaymentLedgerRef,
} from './payment-journals.ts';

const stamp = (journalId: string) => ({ journalId, occurredAt: new Date('2026-02-07T15:04:05Z') });

test('foldBalances totals debits, credits and the balance per account', () => {
  const balances = foldBalances([
    debit('a', 100n, 'USD'),
    credit('b', 100n, 'USD'),
    credit('a', 30n, 'USD'),
    debit('b', 30n, 'USD'),
  ]);
  assert.deepEqual(balances.get('a'), {
    accountCode: 'a',
    currency: 'USD',
    debitTotal: 100n,
    creditTotal: 30n,
    balance: 70n,
  });
  assert.deepEqual(balances.get('b'), {
    accountCode: 'b',
    currency: 'USD',
    debitTotal: 30n,
    creditTotal: 100n,
    balance: -70n,
  });
  assert.equal(foldBalances([]).size, 0);
});

test('an account with postings in two currencies is a programmer error', () => {
  assert.throws(() => foldBalances([debit('a', 1n, 'USD'), debit('a', 1n, 'EUR')]), assert.AssertionError);
});

test('sumsByCurrency is zero for balanced journals', () => {
  const journals: Journal[] = [
    authorizationHold(
      { paymentId: 'p1', merchantId: 'm1', currency: 'USD' },
      { authorized: 500n },
      stamp('j1'),
    ),
    authorizationHold(
      { paymentId: 'p2', merchantId: 'm1', currency: 'JPY' },
      { authorized: 700n },
      stamp('j2'),
    ),
  ];
  assert.deepEqual(
    [...sumsByCurrency(postingsOf(journals))],
    [
      ['USD', 0n],
      ['JPY', 0n],
    ],
  );
});

test('paymentBalance reads only the payment own journals', () => {
  const first: PaymentLedgerRef = { paymentId: 'p1', merchantId: 'm1', currency: 'USD' };
  const second: PaymentLedgerRef = { paymentId: 'p2', merchantId: 'm1', currency: 'USD' };
  const journals = [
    authorizationHold(first, { authorized: 1000n }, stamp('j1')),
    authorizationHold(second, { authorized: 300n }, stamp('j2')),
    captureJournal(first, { captured: 800n, authorized: 1000n }, stamp('j3')),
    refundJournal(first, { refundAmount: 100n }, stamp('j4')),
  ];
  assert.deepEqual(paymentBalance(first, journals), {
    authorizedHold: 0n,
    captured: 800n,
    refunded: 100n,
    net: 700n,
  });
  assert.deepEqual(paymentBalance(second, journals), {
    authorizedHold: 300n,
    captured: 0n,
    refunded: 0n,
    net: 0n,
  });
});

test('paymentBalance keeps captured gross when a settlement credits the receivable', () => {
  const payment: PaymentLedgerRef = { paymentId: 'p1', merchantId: 'm1', currency: 'USD' };
  const accounts = merchantAccounts('m1', 'USD');
  const settlement: Journal = {
    journalId: 'j9',
    kind: 'acquirer_settlement',
    paymentId: 'p1',
    postings: [
      debit(accounts.bank, 500n, 'USD'),
      debit(accounts.refunds, 100n, 'USD'),
      credit(accounts.receivable_from_acquirer, 600n, 'USD'),
    ],
    occurredAt: new Date('2026-02-08T00:00:00Z'),
  };
  const journals = [
    authorizationHold(payment, { authorized: 600n }, stamp('j1')),
    captureJournal(payment, { captured: 600n, authorized: 600n }, stamp('j2')),
    refundJournal(payment, { refundAmount: 100n }, stamp('j3')),
    settlement,
  ];
  assert.deepEqual(paymentBalance(payment, journals), {
    authorizedHold: 0n,
    captured: 600n,
    refunded: 100n,
    net: 500n,
  });
});

test('merchantBalance shows pending payable and authorized holds per currency', () => {
  const journals = [
    authorizationHold(
      { paymentId: 'p1', merchantId: 'm1', currency: 'USD' },
      { authorized: 1000n },
      stamp('j1'),
    ),
    captureJournal(
      { paymentId: 'p1', merchantId: 'm1', currency: 'USD' },
      { captured: 400n, authorized: 1000n },
      stamp('j2'),
    ),
    authorizationHold(
      { paymentId: 'p2', merchantId: 'm1', currency: 'USD' },
      { authorized: 250n },
      stamp('j3'),
    ),
    authorizationHold(
      { paymentId: 'p3', merchantId: 'm1', currency: 'EUR' },
      { authorized: 90n },
      stamp('j4'),
    ),
    authorizationHold(
      { paymentId: 'p4', merchantId: 'm2', currency: 'USD' },
      { authorized: 5n },
      stamp('j5'),
    ),
    refundJournal(
      { paymentId: 'p1', merchantId: 'm1', currency: 'USD' },
      { refundAmount: 150n },
      stamp('j6'),
    ),
  ];
  const postings = [...postingsOf(journals), debit('platform:unrelated', 1n, 'USD')];
  assert.deepEqual(merchantBalance('m1', postings), [
    { currency: 'EUR', pending: 0n, available: 0n, inTransit: 0n, authorized: 90n },
    { currency: 'USD', pending: 250n, available: 0n, inTransit: 0n, authorized: 250n },
  ]);
  assert.deepEqual(merchantBalance('m2', postings), [
    { currency: 'USD', pending: 0n, available: 0n, inTransit: 0n, authorized: 5n },
  ]);
  assert.deepEqual(merchantBalance('m3', postings), []);
});
