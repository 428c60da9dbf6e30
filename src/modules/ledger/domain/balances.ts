// Balances are derived from postings, never stored as the truth: these folds are what the API's
// `ledgerBalance`, a merchant's balance and `payflow ledger verify` compute.
import assert from 'node:assert/strict';
import type { CurrencyCode } from '../../../platform/money.ts';
import { merchantAccounts, parseAccountCode } from './accounts.ts';
import type { Journal, Posting } from './journal.ts';
import type { PaymentLedgerRef } from './payment-journals.ts';

export type AccountBalance = {
  readonly accountCode: string;
  readonly currency: CurrencyCode;
  readonly debitTotal: bigint;
  readonly creditTotal: bigint;
  /** Debits minus credits: positive on debit-normal accounts, negative on credit-normal ones. */
  readonly balance: bigint;
};

export function postingsOf(journals: Iterable<Journal>): Posting[] {
  const postings: Posting[] = [];
  for (const journal of journals) postings.push(...journal.postings);
  return postings;
}

/** Balances per account code; an account seen in two currencies is a programmer error. */
export function foldBalances(postings: Iterable<Posting>): ReadonlyMap<string, AccountBalance> {
  const balances = new Map<string, AccountBalance>();
  for (const posting of postings) {
    const previous = balances.get(posting.accountCode);
    assert.ok(
      previous === undefined || previous.currency === posting.currency,
      `account ${posting.accountCode} has postings in ${previous?.currency} and ${posting.currency}`,
    );
    const debitAmount = posting.amount > 0n ? posting.amount : 0n;
    const creditAmount = posting.amount < 0n ? -posting.amount : 0n;
    balances.set(posting.accountCode, {
      accountCode: posting.accountCode,
      currency: posting.currency,
      debitTotal: (previous?.debitTotal ?? 0n) + debitAmount,
      creditTotal: (previous?.creditTotal ?? 0n) + creditAmount,
      balance: (previous?.balance ?? 0n) + posting.amount,
    });
  }
  return balances;
}

/** The sum of all postings per currency; zero for every currency in a sound ledger. */
export function sumsByCurrency(postings: Iterable<Posting>): ReadonlyMap<CurrencyCode, bigint> {
  const sums = new Map<CurrencyCode, bigint>();
  for (const posting of postings)
    sums.set(posting.currency, (sums.get(posting.currency) ?? 0n) + posting.amount);
  return sums;
}

export type PaymentBalance = {
  /** Still reserved on the card by an open authorization. */
  readonly authorizedHold: bigint;
  readonly captured: bigint;
  readonly refunded: bigint;
  /** What the merchant is owed for this payment: its payable balance (captured − refunded − fees). */
  readonly net: bigint;
};

/** A payment's balance from the postings of its own journals (journals of other payments are skipped). */
export function paymentBalance(payment: PaymentLedgerRef, journals: Iterable<Journal>): PaymentBalance {
  const accounts = merchantAccounts(payment.merchantId, payment.currency);
  let authorizedHold = 0n;
  let captured = 0n;
  let refunded = 0n;
  let payable = 0n;
  for (const journal of journals) {
    if (journal.paymentId !== payment.paymentId) continue;
    for (const posting of journal.postings) {
      assert.ok(
        posting.currency === payment.currency,
        `journal ${journal.journalId} is not in ${payment.currency}`,
      );
      if (posting.accountCode === accounts.authorization_holds) authorizedHold += posting.amount;
      // Gross sides only: a later settlement crediting the receivable must not shrink `captured`.
      if (posting.accountCode === accounts.receivable_from_acquirer && posting.amount > 0n)
        captured += posting.amount;
      if (posting.accountCode === accounts.refunds && posting.amount < 0n) refunded -= posting.amount;
      if (posting.accountCode === accounts.payable) payable += posting.amount;
    }
  }
  return { authorizedHold, captured, refunded, net: -payable };
}

export type MerchantBalance = {
  readonly currency: CurrencyCode;
  /** Captured (less refunds), not yet settled: the credit balance of `payable`. */
  readonly pending: bigint;
  /** Settled, not yet paid out: the credit balance of `merchant_available` (negative: carried over). */
  readonly available: bigint;
  /** Paid out, not yet confirmed by the bank: the credit balance of `payout_in_transit`. */
  readonly inTransit: bigint;
  /** Reserved by open authorizations: the debit balance of `authorization_holds`. */
  readonly authorized: bigint;
};

const balanceFields: Partial<
  Record<string, { field: keyof Omit<MerchantBalance, 'currency'>; sign: bigint }>
> = {
  payable: { field: 'pending', sign: -1n },
  merchant_available: { field: 'available', sign: -1n },
  payout_in_transit: { field: 'inTransit', sign: -1n },
  authorization_holds: { field: 'authorized', sign: 1n },
};

/** A merchant's balances per currency (sorted by currency code) from any set of postings. */
export function merchantBalance(merchantId: string, postings: Iterable<Posting>): readonly MerchantBalance[] {
  const byCurrency = new Map<
    CurrencyCode,
    { pending: bigint; available: bigint; inTransit: bigint; authorized: bigint }
  >();
  for (const posting of postings) {
    const account = parseAccountCode(posting.accountCode);
    if (account === undefined || account.merchantId !== merchantId) continue;
    const target = balanceFields[account.role];
    if (target === undefined) continue;
    assert.ok(account.currency === posting.currency, `posting currency differs from ${posting.accountCode}`);
    const totals = byCurrency.get(account.currency) ?? {
      pending: 0n,
      available: 0n,
      inTransit: 0n,
      authorized: 0n,
    };
    totals[target.field] += target.sign * posting.amount;
    byCurrency.set(account.currency, totals);
  }
  return [...byCurrency.entries()]
    .sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0))
    .map(([currency, totals]) => ({ currency, ...totals }));
}
