// Writes journals and reads postings in schema `ledger`. A post is two statements pipelined on the
// caller's transaction: create the journal's accounts if new (insert … on conflict do nothing), then
// the journal and all its postings in one statement. Reads fold postings with the domain's folds.
import assert from 'node:assert/strict';
import { coalescedWrite } from '../../../platform/db/batcher.ts';
import type { Queryable, TransactionSql } from '../../../platform/db/client.ts';
import type { CurrencyCode } from '../../../platform/money.ts';
import { normalSide, parseAccountCode, type AccountRole } from '../domain/accounts.ts';
import {
  merchantBalance,
  paymentBalance as foldPaymentBalance,
  type MerchantBalance,
  type PaymentBalance,
} from '../domain/balances.ts';
import { assertBalanced, type Journal, type JournalKind, type Posting } from '../domain/journal.ts';
import type { LedgerEntry, SettlementPosition } from '../index.ts';

/** The one merchant all of a journal's accounts belong to (a journal never spans merchants). */
function journalMerchant(journal: Journal): string {
  let merchantId: string | undefined;
  for (const posting of journal.postings) {
    const account = parseAccountCode(posting.accountCode);
    assert.ok(
      account !== undefined,
      `journal ${journal.journalId}: "${posting.accountCode}" is no account code`,
    );
    assert.ok(
      account.currency === posting.currency,
      `journal ${journal.journalId}: a ${posting.currency} posting on ${posting.accountCode}`,
    );
    merchantId ??= account.merchantId;
    assert.ok(account.merchantId === merchantId, `journal ${journal.journalId} spans two merchants`);
  }
  assert.ok(merchantId !== undefined, `journal ${journal.journalId} has no postings`);
  return merchantId;
}

export async function postJournal(transaction: TransactionSql, journal: Journal): Promise<void> {
  assertBalanced(journal);
  await postJournals(transaction, { journal, merchantId: journalMerchant(journal) });
}

/**
 * Journals in two statements, pipelined: create their accounts if new, then every journal and all
 * their postings in one statement. Several journals go together when works share a transaction
 * (ADR 18); each journal's postings are counted on their own.
 */
const postJournals = coalescedWrite(
  async (
    transaction: TransactionSql,
    rows: readonly { journal: Journal; merchantId: string }[],
  ): Promise<readonly undefined[]> => {
    // Sorted, so two transactions creating the same new accounts lock them in the same order.
    const codes = [
      ...new Set(rows.flatMap((row) => row.journal.postings.map((posting) => posting.accountCode))),
    ].sort();
    const accounts = codes.map((code) => parseAccountCode(code)!);
    const createAccounts = transaction`
      insert into ledger.accounts (code, merchant_id, currency, role, normal_side)
      select * from unnest(
        ${codes}::text[],
        ${accounts.map((account) => account.merchantId)}::text[],
        ${accounts.map((account) => account.currency)}::text[],
        ${accounts.map((account) => account.role)}::text[],
        ${accounts.map((account) => normalSide(account.role))}::text[]
      )
      on conflict (code, merchant_id) do nothing`;
    const journals = rows.map((row) => row.journal);
    const lines = journals.flatMap((journal) =>
      journal.postings.map((posting, sequence) => ({ journalId: journal.journalId, sequence, posting })),
    );
    const insertJournals = transaction<{ journal_id: string }[]>`
      with journal as (
        insert into ledger.journals (id, kind, payment_id, merchant_id, occurred_at)
        select * from unnest(
          ${journals.map((journal) => journal.journalId)}::text[],
          ${journals.map((journal) => journal.kind)}::text[],
          ${journals.map((journal) => journal.paymentId ?? null)}::text[],
          ${rows.map((row) => row.merchantId)}::text[],
          ${journals.map((journal) => journal.occurredAt.toISOString())}::timestamptz[]
        )
        returning id, merchant_id
      )
      insert into ledger.postings (journal_id, merchant_id, sequence, account_id, currency, amount)
      select journal.id, journal.merchant_id, line.sequence, account.id, line.currency, line.amount
      from unnest(
        ${lines.map((line) => line.journalId)}::text[],
        ${lines.map((line) => line.sequence)}::int[],
        ${lines.map((line) => line.posting.accountCode)}::text[],
        ${lines.map((line) => line.posting.currency)}::text[],
        ${lines.map((line) => line.posting.amount.toString())}::bigint[]
      ) with ordinality as line (journal_id, sequence, code, currency, amount, position)
      join journal on journal.id = line.journal_id
      join ledger.accounts account on account.code = line.code
      order by line.position
      returning journal_id`;
    // Pipelined: both statements go out at once and run in order on the transaction's connection.
    const [, inserted] = await Promise.all([createAccounts, insertJournals]);
    const written = new Map<string, number>();
    for (const row of inserted) written.set(row.journal_id, (written.get(row.journal_id) ?? 0) + 1);
    for (const journal of journals) {
      assert.equal(
        written.get(journal.journalId) ?? 0,
        journal.postings.length,
        `journal ${journal.journalId}: not every posting was written`,
      );
    }
    return rows.map(() => undefined);
  },
);

type PostingRow = {
  id: bigint;
  journal_id: string;
  kind: JournalKind;
  payment_id: string | null;
  code: string;
  role: AccountRole;
  amount: bigint;
  currency: CurrencyCode;
  occurred_at: Date;
  created_at: Date;
};

async function paymentPostingRows(sql: Queryable, merchantId: string, paymentId: string) {
  return sql<PostingRow[]>`
    select posting.id, posting.journal_id, journal.kind, journal.payment_id, account.code, account.role,
           posting.amount, posting.currency, journal.occurred_at, posting.created_at
    from ledger.journals journal
    join ledger.postings posting on posting.journal_id = journal.id
    join ledger.accounts account on account.id = posting.account_id
    where journal.merchant_id = ${merchantId} and journal.payment_id = ${paymentId}
    order by journal.created_at, min(posting.id) over (partition by journal.id), posting.sequence`;
}

export async function paymentEntries(
  sql: Queryable,
  merchantId: string,
  paymentId: string,
): Promise<LedgerEntry[]> {
  const rows = await paymentPostingRows(sql, merchantId, paymentId);
  return rows.map((row) => ({
    entryId: `le_${row.id}`,
    journalId: row.journal_id,
    journalKind: row.kind,
    accountRole: row.role,
    amount: row.amount,
    currency: row.currency,
    occurredAt: row.occurred_at,
    createdAt: row.created_at,
  }));
}

export async function paymentBalance(
  sql: Queryable,
  merchantId: string,
  paymentId: string,
): Promise<PaymentBalance> {
  const rows = await paymentPostingRows(sql, merchantId, paymentId);
  const first = rows[0];
  if (first === undefined) return { authorizedHold: 0n, captured: 0n, refunded: 0n, net: 0n };
  const journals = new Map<string, { journal: Journal; postings: Posting[] }>();
  for (const row of rows) {
    let entry = journals.get(row.journal_id);
    if (entry === undefined) {
      const postings: Posting[] = [];
      entry = {
        postings,
        journal: {
          journalId: row.journal_id,
          kind: row.kind,
          paymentId,
          postings,
          occurredAt: row.occurred_at,
        },
      };
      journals.set(row.journal_id, entry);
    }
    entry.postings.push({ accountCode: row.code, amount: row.amount, currency: row.currency });
  }
  return foldPaymentBalance(
    { paymentId, merchantId, currency: first.currency },
    [...journals.values()].map((entry) => entry.journal),
  );
}

export async function merchantBalances(
  sql: Queryable,
  merchantId: string,
): Promise<readonly MerchantBalance[]> {
  // One summed "posting" per account: the domain fold gives the same result as over every posting.
  const rows = await sql<{ code: string; currency: CurrencyCode; total: bigint }[]>`
    select account.code, account.currency, coalesce(sum(posting.amount), 0)::bigint as total
    from ledger.accounts account
    join ledger.postings posting on posting.account_id = account.id
    where account.merchant_id = ${merchantId} and account.role in ('payable', 'authorization_holds', 'merchant_available', 'payout_in_transit')
    group by account.code, account.currency`;
  return merchantBalance(
    merchantId,
    rows.map((row) => ({ accountCode: row.code, amount: row.total, currency: row.currency })),
  );
}

export async function settlementPositions(sql: Queryable): Promise<readonly SettlementPosition[]> {
  const rows = await sql<
    {
      merchant_id: string;
      currency: CurrencyCode;
      receivable: bigint;
      refunds_to_net: bigint;
      available: bigint;
      settled_gross: bigint;
      settled_refunds: bigint;
    }[]
  >`
    select account.merchant_id, account.currency,
      coalesce(sum(posting.amount) filter (where account.role = 'receivable_from_acquirer'), 0)::bigint as receivable,
      coalesce(-sum(posting.amount) filter (where account.role = 'refunds'), 0)::bigint as refunds_to_net,
      coalesce(-sum(posting.amount) filter (where account.role = 'merchant_available'), 0)::bigint as available,
      coalesce(-sum(posting.amount) filter (where account.role = 'receivable_from_acquirer'
        and journal.kind = 'acquirer_settlement'), 0)::bigint as settled_gross,
      coalesce(sum(posting.amount) filter (where account.role = 'refunds'
        and journal.kind = 'acquirer_settlement'), 0)::bigint as settled_refunds
    from ledger.postings posting
    join ledger.accounts account on account.id = posting.account_id
    join ledger.journals journal on journal.id = posting.journal_id
    where account.role in ('receivable_from_acquirer', 'refunds', 'merchant_available')
    group by account.merchant_id, account.currency
    order by account.merchant_id, account.currency`;
  return rows.map((row) => ({
    merchantId: row.merchant_id,
    currency: row.currency,
    receivable: row.receivable,
    refundsToNet: row.refunds_to_net,
    available: row.available,
    settledGross: row.settled_gross,
    settledRefunds: row.settled_refunds,
  }));
}
