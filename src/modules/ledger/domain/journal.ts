// A journal is one double-entry transaction: two or more postings that sum to zero per currency.
// Journals are immutable and append-only; a correction is a new journal, never an edit.
import assert from 'node:assert/strict';
import type { CurrencyCode } from '../../../platform/money.ts';

export type Posting = {
  readonly accountCode: string;
  /** Minor units: positive is a debit, negative a credit; never zero. */
  readonly amount: bigint;
  readonly currency: CurrencyCode;
};

export const journalKinds = [
  'authorization_hold',
  'capture',
  'void',
  'expiry',
  'refund',
  'fee',
  'acquirer_settlement',
  'merchant_payout',
  'reconciliation_adjustment',
] as const;
export type JournalKind = (typeof journalKinds)[number];

export type Journal = {
  readonly journalId: string;
  readonly kind: JournalKind;
  /** Absent for journals about many payments (settlement, payout). */
  readonly paymentId?: string;
  readonly postings: readonly Posting[];
  readonly occurredAt: Date;
};

/** Time and id of a journal, chosen by the caller (the domain reads no clock). */
export type JournalStamp = { readonly journalId: string; readonly occurredAt: Date };

/** A bound on one journal's size; a settlement batch with one posting per payment still fits. */
export const journalPostingsMax = 10_000;

/**
 * An unbalanced journal is a programmer error, never an expected failure: it throws an
 * AssertionError so the transaction that would post it aborts.
 */
export function assertBalanced(journal: Journal): void {
  const { journalId, postings } = journal;
  assert.ok(
    postings.length >= 2,
    `journal ${journalId} has ${postings.length} posting(s); it needs at least 2`,
  );
  assert.ok(
    postings.length <= journalPostingsMax,
    `journal ${journalId} exceeds ${journalPostingsMax} postings`,
  );
  const sumByCurrency = new Map<CurrencyCode, bigint>();
  for (const posting of postings) {
    assert.ok(posting.amount !== 0n, `journal ${journalId} has a zero posting on ${posting.accountCode}`);
    assert.ok(posting.accountCode.length > 0, `journal ${journalId} has a posting without an account`);
    sumByCurrency.set(posting.currency, (sumByCurrency.get(posting.currency) ?? 0n) + posting.amount);
  }
  for (const [currency, sum] of sumByCurrency) {
    assert.ok(sum === 0n, `journal ${journalId} is unbalanced in ${currency}: postings sum to ${sum}`);
  }
}

export function debit(accountCode: string, amount: bigint, currency: CurrencyCode): Posting {
  assert.ok(amount > 0n, `a debit of ${amount} on ${accountCode} is not positive`);
  return { accountCode, amount, currency };
}

export function credit(accountCode: string, amount: bigint, currency: CurrencyCode): Posting {
  assert.ok(amount > 0n, `a credit of ${amount} on ${accountCode} is not positive`);
  return { accountCode, amount: -amount, currency };
}
