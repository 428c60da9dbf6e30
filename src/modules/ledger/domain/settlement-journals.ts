// The journals of the money-out half (ADR 19). A settlement batch (one merchant, one currency, one
// acquirer batch) is one journal with two halves:
//   the acquirer pays:  Dr bank (gross − refunds − acquirer costs), Dr acquirer_costs, Dr refunds,
//                       Cr receivable_from_acquirer (gross);
//   the merchant's net: Dr payable (gross − refunds), Cr fee_revenue (fees),
//                       Cr merchant_available (gross − refunds − fees, negative: a debit, carried).
// A payout moves available money out: Dr merchant_available, Cr payout_in_transit; once the bank
// confirms, Dr payout_in_transit, Cr bank; if it fails, Dr payout_in_transit, Cr merchant_available.
// Zero legs are left out (a posting is never zero); every builder asserts the journal balances.
import assert from 'node:assert/strict';
import type { CurrencyCode } from '../../../platform/money.ts';
import { merchantAccounts } from './accounts.ts';
import { assertBalanced, credit, debit, type Journal, type JournalStamp, type Posting } from './journal.ts';

export interface SettlementAmounts {
  /** Captures settled in the batch. */
  readonly gross: bigint;
  /** Refunds netted in the batch. */
  readonly refunds: bigint;
  /** PayFlow's fees on the batch's captures. */
  readonly fees: bigint;
  /** What the acquirer kept. */
  readonly acquirerCosts: bigint;
}

/** Adds a posting of `amount` on the debit (positive) or credit (negative) side; none for zero. */
function signed(postings: Posting[], account: string, amount: bigint, currency: CurrencyCode): void {
  if (amount > 0n) postings.push(debit(account, amount, currency));
  else if (amount < 0n) postings.push(credit(account, -amount, currency));
}

export function settlementJournal(
  merchantId: string,
  currency: CurrencyCode,
  amounts: SettlementAmounts,
  stamp: JournalStamp,
): Journal {
  const { gross, refunds, fees, acquirerCosts } = amounts;
  for (const [name, value] of Object.entries({ gross, refunds, fees, acquirerCosts }))
    assert.ok(value >= 0n, `settlement ${name} ${value} is negative`);
  assert.ok(gross > 0n || refunds > 0n, 'a settlement batch settles something');
  const accounts = merchantAccounts(merchantId, currency);
  const postings: Posting[] = [];
  signed(postings, accounts.bank, gross - refunds - acquirerCosts, currency);
  signed(postings, accounts.acquirer_costs, acquirerCosts, currency);
  signed(postings, accounts.refunds, refunds, currency);
  signed(postings, accounts.receivable_from_acquirer, -gross, currency);
  signed(postings, accounts.payable, gross - refunds, currency);
  signed(postings, accounts.fee_revenue, -fees, currency);
  signed(postings, accounts.merchant_available, -(gross - refunds - fees), currency);
  const journal: Journal = {
    journalId: stamp.journalId,
    kind: 'acquirer_settlement',
    postings,
    occurredAt: stamp.occurredAt,
  };
  assertBalanced(journal);
  return journal;
}

export type PayoutStep = 'initiated' | 'paid' | 'failed';

export function payoutJournal(
  merchantId: string,
  currency: CurrencyCode,
  amount: bigint,
  step: PayoutStep,
  stamp: JournalStamp,
): Journal {
  assert.ok(amount > 0n, `payout amount ${amount} must be positive`);
  const accounts = merchantAccounts(merchantId, currency);
  const postings =
    step === 'initiated'
      ? [
          debit(accounts.merchant_available, amount, currency),
          credit(accounts.payout_in_transit, amount, currency),
        ]
      : step === 'paid'
        ? [debit(accounts.payout_in_transit, amount, currency), credit(accounts.bank, amount, currency)]
        : [
            debit(accounts.payout_in_transit, amount, currency),
            credit(accounts.merchant_available, amount, currency),
          ];
  const journal: Journal = {
    journalId: stamp.journalId,
    kind: 'merchant_payout',
    postings,
    occurredAt: stamp.occurredAt,
  };
  assertBalanced(journal);
  return journal;
}

/**
 * What an operator decided about a difference in the acquirer's settlement report (ADR 20):
 * - `acquirer_difference`: the acquirer paid `bankDifference` more (positive) or less (negative)
 *   than PayFlow expected for an operation; PayFlow's bank and its acquirer costs absorb it, the
 *   merchant is owed what was captured. More: Dr bank, Cr acquirer_costs; less: the reverse.
 * - `merchant_chargeback`: the acquirer took a charged-back `amount` back; the merchant bears it:
 *   Dr merchant_available (negative available carries over to the next payout), Cr bank.
 */
export type ReconciliationAdjustment =
  | { readonly kind: 'acquirer_difference'; readonly bankDifference: bigint }
  | { readonly kind: 'merchant_chargeback'; readonly amount: bigint };

export function reconciliationAdjustmentJournal(
  merchantId: string,
  currency: CurrencyCode,
  adjustment: ReconciliationAdjustment,
  stamp: JournalStamp,
): Journal {
  const accounts = merchantAccounts(merchantId, currency);
  const postings: Posting[] = [];
  switch (adjustment.kind) {
    case 'acquirer_difference':
      assert.ok(adjustment.bankDifference !== 0n, 'an acquirer difference of 0 adjusts nothing');
      signed(postings, accounts.bank, adjustment.bankDifference, currency);
      signed(postings, accounts.acquirer_costs, -adjustment.bankDifference, currency);
      break;
    case 'merchant_chargeback':
      assert.ok(adjustment.amount > 0n, `chargeback amount ${adjustment.amount} must be positive`);
      postings.push(debit(accounts.merchant_available, adjustment.amount, currency));
      postings.push(credit(accounts.bank, adjustment.amount, currency));
      break;
    default:
      return adjustment satisfies never;
  }
  const journal: Journal = {
    journalId: stamp.journalId,
    kind: 'reconciliation_adjustment',
    postings,
    occurredAt: stamp.occurredAt,
  };
  assertBalanced(journal);
  return journal;
}
