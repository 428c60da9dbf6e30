// The ledger module's public face: an append-only double-entry ledger. Other modules build journals
// with the pure builders re-exported here (authorizationHold, captureJournal, …) and post them inside
// their own transaction with `LedgerFace.post`; balances are always derived from postings.
import type { Queryable, TransactionSql } from '../../platform/db/client.ts';
import type { RequestAuthenticator } from '../../platform/http/auth.ts';
import type { CurrencyCode } from '../../platform/money.ts';
import type { ModuleDefinition } from '../../platform/module.ts';
import { verifyCommand } from './application/verify-command.ts';
import { registerBalanceRoutes } from './http/balance-routes.ts';
import { ledgerFace } from './infra/ledger-face.ts';
import type { AccountRole } from './domain/accounts.ts';
import type { MerchantBalance, PaymentBalance } from './domain/balances.ts';
import type { Journal, JournalKind } from './domain/journal.ts';

export type { Journal, JournalKind, JournalStamp, Posting } from './domain/journal.ts';
export { assertBalanced, journalKinds } from './domain/journal.ts';
export type { AccountRole, NormalSide } from './domain/accounts.ts';
export { accountCode, accountRoles, merchantAccounts } from './domain/accounts.ts';
export type { MerchantBalance, PaymentBalance } from './domain/balances.ts';
export {
  authorizationHold,
  authorizeAndCaptureJournals,
  captureJournal,
  expiryJournal,
  refundJournal,
  voidJournal,
  type PaymentLedgerRef,
} from './domain/payment-journals.ts';
export {
  payoutJournal,
  reconciliationAdjustmentJournal,
  settlementJournal,
  type PayoutStep,
  type ReconciliationAdjustment,
  type SettlementAmounts,
} from './domain/settlement-journals.ts';
/** The ledger's face without a running module (CLI commands post journals through it too). */
export { ledgerFace };

/** One posting of a payment's journals, as the payments API shows it in `ledgerEntries`. */
export interface LedgerEntry {
  /** The posting's id (`pst_…`). */
  readonly entryId: string;
  readonly journalId: string;
  readonly journalKind: JournalKind;
  readonly accountRole: AccountRole;
  /** Minor units: positive is a debit, negative a credit. */
  readonly amount: bigint;
  readonly currency: CurrencyCode;
  /** When the journal happened (the caller's clock), and when the row was written. */
  readonly occurredAt: Date;
  readonly createdAt: Date;
}

/** One broken invariant found by `verify`. */
export interface LedgerViolation {
  /** A stable name, e.g. `journal_unbalanced`, `journal_too_few_postings`, `posting_currency_mismatch`. */
  readonly invariant: string;
  /** The journal, posting or account concerned. */
  readonly subject: string;
  readonly detail: string;
}

export interface LedgerVerifyReport {
  readonly ok: boolean;
  readonly journalsChecked: number;
  readonly postingsChecked: number;
  readonly accountsChecked: number;
  readonly violations: readonly LedgerViolation[];
}

export interface LedgerFace {
  /**
   * Posts one journal inside the caller's transaction: asserts it balances (AssertionError
   * otherwise: a programmer error), creates its accounts on first use, writes the journal and its
   * postings. A journal id posted twice fails (unique violation). The database checks the balance
   * again at commit.
   */
  post(transaction: TransactionSql, journal: Journal): Promise<void>;
  /** Every posting of the payment's journals, oldest first (empty for an unknown payment). */
  paymentEntries(sql: Queryable, merchantId: string, paymentId: string): Promise<readonly LedgerEntry[]>;
  /** The payment's hold, captured, refunded and net amounts, folded from its postings (zeros if none). */
  paymentBalance(sql: Queryable, merchantId: string, paymentId: string): Promise<PaymentBalance>;
  /** The merchant's available and pending amounts per currency, sorted by currency. */
  merchantBalances(sql: Queryable, merchantId: string): Promise<readonly MerchantBalance[]>;
  /** Checks every ledger invariant on the database; never throws for a violation, reports it. */
  verify(sql: Queryable): Promise<LedgerVerifyReport>;
  /** Per merchant and currency, what settlement's own records must agree with (ADR 19). */
  settlementPositions(sql: Queryable): Promise<readonly SettlementPosition[]>;
}

/** The ledger's side of settlement for one merchant and currency, in minor units. */
export interface SettlementPosition {
  readonly merchantId: string;
  readonly currency: CurrencyCode;
  /** Captured, not yet settled by the acquirer: the debit balance of `receivable_from_acquirer`. */
  readonly receivable: bigint;
  /** Refunded, not yet netted at settlement: the credit balance of `refunds`. */
  readonly refundsToNet: bigint;
  /** Settled, not yet paid out: the credit balance of `merchant_available`. */
  readonly available: bigint;
  /** What settlement journals took off the receivable (captures settled) and off refunds. */
  readonly settledGross: bigint;
  readonly settledRefunds: bigint;
}

/** What the ledger needs from the identity module's face (IdentityFace provides it). */
type Authenticating = { readonly authenticator: RequestAuthenticator };

export const ledgerModule: ModuleDefinition = {
  manifest: {
    name: 'ledger',
    migrationsDirectory: new URL('./migrations', import.meta.url).pathname,
    commands: [verifyCommand],
  },
  async create(context, faces) {
    const identity = faces['identity'] as Authenticating | undefined;
    return {
      name: 'ledger',
      face: ledgerFace,
      registerRoutes(app) {
        if (identity === undefined) {
          context.log.warn('ledger: no identity module, so GET /balance is not served');
          return;
        }
        registerBalanceRoutes(app, {
          sql: context.sql,
          ledger: ledgerFace,
          authenticator: identity.authenticator,
        });
      },
    };
  },
};
