// `verify`: every ledger invariant checked against the stored rows, in one read-only snapshot. The
// database enforces most of them already (triggers, foreign keys, checks); verify proves they still
// hold, e.g. after a restore, a superuser's manual change, or a trigger someone disabled.
import type { Queryable, Sql } from '../../../platform/db/client.ts';
import type { LedgerVerifyReport, LedgerViolation } from '../index.ts';

/** At most this many violations are listed per invariant (the count says how many exist). */
export const violationsPerInvariantMax = 100;

type Check = {
  readonly invariant: string;
  /** Rows of (subject, detail), one per violation. */
  readonly query: (sql: Queryable) => Promise<readonly { subject: string; detail: string }[]>;
};

const checks: readonly Check[] = [
  {
    invariant: 'journal_unbalanced',
    query: (sql) => sql`
      select journal_id as subject,
             'postings in ' || currency || ' sum to ' || sum(amount)::text as detail
      from ledger.postings
      group by journal_id, currency
      having sum(amount) <> 0
      order by journal_id`,
  },
  {
    invariant: 'journal_too_few_postings',
    query: (sql) => sql`
      select journal.id as subject, count(posting.id)::text || ' posting(s); at least 2 needed' as detail
      from ledger.journals journal
      left join ledger.postings posting on posting.journal_id = journal.id
      group by journal.id
      having count(posting.id) < 2
      order by journal.id`,
  },
  {
    invariant: 'posting_unknown_journal',
    query: (sql) => sql`
      select 'posting ' || posting.id::text as subject,
             'references journal ' || posting.journal_id || ', which does not exist' as detail
      from ledger.postings posting
      left join ledger.journals journal on journal.id = posting.journal_id
      where journal.id is null
      order by posting.id`,
  },
  {
    invariant: 'posting_unknown_account',
    query: (sql) => sql`
      select 'posting ' || posting.id::text as subject,
             'references account ' || posting.account_id::text || ', which does not exist' as detail
      from ledger.postings posting
      left join ledger.accounts account on account.id = posting.account_id
      where account.id is null
      order by posting.id`,
  },
  {
    invariant: 'posting_currency_mismatch',
    query: (sql) => sql`
      select 'posting ' || posting.id::text as subject,
             'is in ' || posting.currency || ' but account ' || account.code || ' is in ' || account.currency
               as detail
      from ledger.postings posting
      join ledger.accounts account on account.id = posting.account_id
      where account.currency <> posting.currency
      order by posting.id`,
  },
  {
    invariant: 'posting_zero_amount',
    query: (sql) => sql`
      select 'posting ' || id::text as subject, 'has amount 0' as detail
      from ledger.postings where amount = 0 order by id`,
  },
  {
    invariant: 'journal_spans_merchants',
    query: (sql) => sql`
      select distinct journal.id as subject,
             'belongs to merchant ' || journal.merchant_id || ' but posts to ' || account.code as detail
      from ledger.journals journal
      join ledger.postings posting on posting.journal_id = journal.id
      join ledger.accounts account on account.id = posting.account_id
      where account.merchant_id <> journal.merchant_id
      order by 1`,
  },
  {
    invariant: 'account_code_mismatch',
    query: (sql) => sql`
      select code as subject, 'does not match its merchant, currency and role columns' as detail
      from ledger.accounts
      where code <> 'merchant:' || merchant_id || ':' || currency || ':' || role
      order by code`,
  },
  {
    invariant: 'payment_hold_negative',
    query: (sql) => sql`
      select journal.payment_id as subject,
             'authorization hold balance is ' || sum(posting.amount)::text as detail
      from ledger.journals journal
      join ledger.postings posting on posting.journal_id = journal.id
      join ledger.accounts account on account.id = posting.account_id
      where journal.payment_id is not null and account.role = 'authorization_holds'
      group by journal.payment_id
      having sum(posting.amount) < 0
      order by 1`,
  },
  {
    invariant: 'payment_over_refunded',
    query: (sql) => sql`
      select journal.payment_id as subject,
             'refunded ' || sum(case when account.role = 'refunds' then -posting.amount else 0 end)::text
               || ' of ' || sum(case when account.role = 'receivable_from_acquirer' and posting.amount > 0
                                    then posting.amount else 0 end)::text || ' captured' as detail
      from ledger.journals journal
      join ledger.postings posting on posting.journal_id = journal.id
      join ledger.accounts account on account.id = posting.account_id
      where journal.payment_id is not null
      group by journal.payment_id
      having sum(case when account.role = 'refunds' then -posting.amount else 0 end)
           > sum(case when account.role = 'receivable_from_acquirer' and posting.amount > 0
                      then posting.amount else 0 end)
      order by 1`,
  },
  {
    // ADR 19: what the acquirer owes for captures (receivable, gross) less the refunds it will net
    // out is exactly what the merchant has pending: captures, refunds and settlements move them together.
    invariant: 'pending_differs_from_receivable',
    query: (sql) => sql`
      select account.merchant_id || ' ' || account.currency as subject,
             'receivable from acquirer ' || coalesce(sum(posting.amount)
               filter (where account.role = 'receivable_from_acquirer'), 0)::text
             || ' less refunds to net ' || coalesce(-sum(posting.amount) filter (where account.role = 'refunds'), 0)::text
             || ' differs from pending ' || coalesce(-sum(posting.amount) filter (where account.role = 'payable'), 0)::text
               as detail
      from ledger.postings posting
      join ledger.accounts account on account.id = posting.account_id
      where account.role in ('receivable_from_acquirer', 'refunds', 'payable')
      group by account.merchant_id, account.currency
      having sum(posting.amount) <> 0
      order by 1`,
  },
  {
    invariant: 'ledger_unbalanced',
    query: (sql) => sql`
      select currency as subject, 'all postings sum to ' || sum(amount)::text as detail
      from ledger.postings group by currency having sum(amount) <> 0 order by currency`,
  },
];

async function runChecks(sql: Queryable): Promise<LedgerVerifyReport> {
  const violations: LedgerViolation[] = [];
  for (const check of checks) {
    const rows = await check.query(sql);
    for (const row of rows.slice(0, violationsPerInvariantMax))
      violations.push({ invariant: check.invariant, subject: row.subject, detail: row.detail });
    if (rows.length > violationsPerInvariantMax) {
      violations.push({
        invariant: check.invariant,
        subject: '…',
        detail: `${rows.length - violationsPerInvariantMax} more violation(s) not listed`,
      });
    }
  }
  const [counts] = await sql<{ journals: bigint; postings: bigint; accounts: bigint }[]>`
    select (select count(*) from ledger.journals) as journals,
           (select count(*) from ledger.postings) as postings,
           (select count(*) from ledger.accounts) as accounts`;
  return {
    ok: violations.length === 0,
    journalsChecked: Number(counts!.journals),
    postingsChecked: Number(counts!.postings),
    accountsChecked: Number(counts!.accounts),
    violations,
  };
}

function isPool(sql: Queryable): sql is Sql {
  return typeof (sql as Partial<Sql>).begin === 'function';
}

/** Checks every invariant; on a pool, inside one repeatable-read, read-only snapshot. */
export async function verifyLedger(sql: Queryable): Promise<LedgerVerifyReport> {
  if (!isPool(sql)) return runChecks(sql);
  return sql.begin('isolation level repeatable read read only', (transaction) => runChecks(transaction));
}

/** The report as text lines, for the CLI. */
export function formatReport(report: LedgerVerifyReport): string[] {
  const lines = [
    `ledger verify: ${report.journalsChecked} journal(s), ${report.postingsChecked} posting(s), ${report.accountsChecked} account(s) checked`,
  ];
  for (const violation of report.violations)
    lines.push(`  VIOLATION ${violation.invariant}: ${violation.subject}: ${violation.detail}`);
  lines.push(
    report.ok ? 'ledger verify: OK' : `ledger verify: FAILED with ${report.violations.length} violation(s)`,
  );
  return lines;
}
