// The journals of a payment's life, after TigerBeetle's two-phase transfers: an authorization is a
// pending hold; it is resolved exactly once, by a capture (posting part or all of it and releasing
// the rest), a void or an expiry (releasing all of it). A refund reverses part of a capture.
// Each builder asserts its journal balances before handing it out.
import assert from 'node:assert/strict';
import { amountMaxMinor, type CurrencyCode } from '../../../platform/money.ts';
import { merchantAccounts } from './accounts.ts';
import {
  assertBalanced,
  credit,
  debit,
  type Journal,
  type JournalKind,
  type JournalStamp,
} from './journal.ts';

export type PaymentLedgerRef = {
  readonly paymentId: string;
  readonly merchantId: string;
  readonly currency: CurrencyCode;
};

function assertPaymentAmount(name: string, amount: bigint): void {
  assert.ok(amount > 0n && amount <= amountMaxMinor, `${name} ${amount} is outside 1..${amountMaxMinor}`);
}

function paymentJournal(
  payment: PaymentLedgerRef,
  kind: JournalKind,
  postings: Journal['postings'],
  stamp: JournalStamp,
): Journal {
  const journal: Journal = {
    journalId: stamp.journalId,
    kind,
    paymentId: payment.paymentId,
    postings,
    occurredAt: stamp.occurredAt,
  };
  assertBalanced(journal);
  return journal;
}

/** Reserves the authorized amount: debit the holds, credit their contra. */
export function authorizationHold(
  payment: PaymentLedgerRef,
  amounts: { readonly authorized: bigint },
  stamp: JournalStamp,
): Journal {
  assertPaymentAmount('authorized amount', amounts.authorized);
  const accounts = merchantAccounts(payment.merchantId, payment.currency);
  return paymentJournal(
    payment,
    'authorization_hold',
    [
      debit(accounts.authorization_holds, amounts.authorized, payment.currency),
      credit(accounts.authorization_hold_contra, amounts.authorized, payment.currency),
    ],
    stamp,
  );
}

/**
 * Posts the captured part of the hold: releases the whole hold, and moves the captured amount to
 * receivable-from-acquirer / payable-to-merchant. The uncaptured rest is thereby released for good.
 */
export function captureJournal(
  payment: PaymentLedgerRef,
  amounts: { readonly captured: bigint; readonly authorized: bigint },
  stamp: JournalStamp,
): Journal {
  const { captured, authorized } = amounts;
  assertPaymentAmount('authorized amount', authorized);
  assertPaymentAmount('captured amount', captured);
  assert.ok(captured <= authorized, `capture ${captured} exceeds authorization ${authorized}`);
  const accounts = merchantAccounts(payment.merchantId, payment.currency);
  const currency = payment.currency;
  return paymentJournal(
    payment,
    'capture',
    [
      credit(accounts.authorization_holds, authorized, currency),
      debit(accounts.authorization_hold_contra, authorized, currency),
      debit(accounts.receivable_from_acquirer, captured, currency),
      credit(accounts.payable, captured, currency),
    ],
    stamp,
  );
}

function releaseHold(
  payment: PaymentLedgerRef,
  kind: 'void' | 'expiry',
  authorized: bigint,
  stamp: JournalStamp,
): Journal {
  assertPaymentAmount('authorized amount', authorized);
  const accounts = merchantAccounts(payment.merchantId, payment.currency);
  return paymentJournal(
    payment,
    kind,
    [
      credit(accounts.authorization_holds, authorized, payment.currency),
      debit(accounts.authorization_hold_contra, authorized, payment.currency),
    ],
    stamp,
  );
}

/** The merchant cancels the authorization: the whole hold is released. */
export function voidJournal(
  payment: PaymentLedgerRef,
  amounts: { readonly authorized: bigint },
  stamp: JournalStamp,
): Journal {
  return releaseHold(payment, 'void', amounts.authorized, stamp);
}

/** The authorization outlived its validity: the whole hold is released. */
export function expiryJournal(
  payment: PaymentLedgerRef,
  amounts: { readonly authorized: bigint },
  stamp: JournalStamp,
): Journal {
  return releaseHold(payment, 'expiry', amounts.authorized, stamp);
}

/**
 * Reverses part of a capture: the merchant is owed less (debit payable) and the refund is recorded
 * on `refunds`, the contra of receivable-from-acquirer, because the acquirer pays the cardholder
 * back and nets it out of the next settlement. The receivable itself stays gross.
 */
export function refundJournal(
  payment: PaymentLedgerRef,
  amounts: { readonly refundAmount: bigint },
  stamp: JournalStamp,
): Journal {
  assertPaymentAmount('refund amount', amounts.refundAmount);
  const accounts = merchantAccounts(payment.merchantId, payment.currency);
  return paymentJournal(
    payment,
    'refund',
    [
      debit(accounts.payable, amounts.refundAmount, payment.currency),
      credit(accounts.refunds, amounts.refundAmount, payment.currency),
    ],
    stamp,
  );
}

/**
 * A sale (`capture: true`): the hold and its full capture as two journals, so a sale's ledger reads
 * like any other payment's and the auditing rules stay one set.
 */
export function authorizeAndCaptureJournals(
  payment: PaymentLedgerRef,
  amounts: { readonly amount: bigint },
  stamps: { readonly hold: JournalStamp; readonly capture: JournalStamp },
): readonly [Journal, Journal] {
  assert.ok(stamps.hold.journalId !== stamps.capture.journalId, 'a sale needs two journal ids');
  return [
    authorizationHold(payment, { authorized: amounts.amount }, stamps.hold),
    captureJournal(payment, { captured: amounts.amount, authorized: amounts.amount }, stamps.capture),
  ];
}
