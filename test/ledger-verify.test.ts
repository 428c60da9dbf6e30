// `payflow ledger verify` and LedgerFace.verify on a live database: clean ledgers pass, and every
// invariant that a superuser can break behind the database's back is reported. Bad rows are planted
// by disabling the guarding triggers as superuser (the test databases are owned by one), then
// re-enabling them in the same transaction.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { runCli } from './support/server.ts';
import { newId } from '../src/platform/ids.ts';
import { loadConfiguration } from '../src/apps/configuration.ts';
import { createLogger } from '../src/platform/log.ts';
import { systemClock } from '../src/platform/clock.ts';
import {
  authorizationHold,
  captureJournal,
  ledgerModule,
  merchantAccounts,
  refundJournal,
  type LedgerFace,
  type LedgerVerifyReport,
} from '../src/modules/ledger/index.ts';

const databases: TestDatabase[] = [];
after(async () => {
  for (const database of databases) await database.drop();
});

async function setUp(): Promise<{ database: TestDatabase; ledger: LedgerFace }> {
  const database = await createTestDatabase();
  databases.push(database);
  const context = {
    ...loadConfiguration({}),
    sql: database.sql,
    log: createLogger({ level: 'silent' }),
    clock: systemClock,
  };
  return { database, ledger: (await ledgerModule.create!(context, {})).face as LedgerFace };
}

const stamp = () => ({ journalId: newId('jnl'), occurredAt: new Date() });

async function postLife(database: TestDatabase, ledger: LedgerFace, merchantId = newId('mer')) {
  const ref = { paymentId: newId('pay'), merchantId, currency: 'USD' as const };
  await database.sql.begin(async (transaction) => {
    await ledger.post(transaction, authorizationHold(ref, { authorized: 1_000n }, stamp()));
    await ledger.post(transaction, captureJournal(ref, { captured: 900n, authorized: 1_000n }, stamp()));
    await ledger.post(transaction, refundJournal(ref, { refundAmount: 100n }, stamp()));
  });
  return ref;
}

test('payflow ledger verify exits 0 on a sound ledger and 1, naming the journal, once one is unbalanced', async () => {
  const { database, ledger } = await setUp();
  const ref = await postLife(database, ledger);
  const clean = await runCli(['ledger', 'verify'], { DATABASE_URL: database.url });
  assert.equal(clean.code, 0, clean.stderr);
  assert.match(clean.stdout, /3 journal\(s\), 8 posting\(s\), 5 account\(s\) checked/);
  assert.match(clean.stdout, /ledger verify: OK/);

  // Plant a posting that unbalances the capture: the commit trigger is disabled for this one insert.
  const [capture] = await database.sql<{ id: string }[]>`
    select id from ledger.journals where payment_id = ${ref.paymentId} and kind = 'capture'`;
  const accounts = merchantAccounts(ref.merchantId, 'USD');
  await database.sql.begin(async (transaction) => {
    await transaction`alter table ledger.postings disable trigger postings_balanced_at_commit`;
    await transaction`
      insert into ledger.postings (journal_id, merchant_id, sequence, account_id, currency, amount)
      select ${capture!.id}, merchant_id, 9, id, 'USD', 1 from ledger.accounts where code = ${accounts.payable}`;
    await transaction`alter table ledger.postings enable trigger postings_balanced_at_commit`;
  });
  // The trigger is back: the same insert is refused again.
  await assert.rejects(
    database.sql`
      insert into ledger.postings (journal_id, merchant_id, sequence, account_id, currency, amount)
      select ${capture!.id}, merchant_id, 10, id, 'USD', 1 from ledger.accounts where code = ${accounts.payable}`,
    /unbalanced/,
  );

  const broken = await runCli(['ledger', 'verify'], { DATABASE_URL: database.url });
  assert.equal(broken.code, 1, broken.stderr);
  assert.match(
    broken.stdout,
    new RegExp(`VIOLATION journal_unbalanced: ${capture!.id}: postings in USD sum to 1`),
  );
  assert.match(broken.stdout, /VIOLATION ledger_unbalanced: USD: all postings sum to 1/);
  assert.match(broken.stdout, /ledger verify: FAILED/);

  const json = await runCli(['ledger', 'verify', '--json'], { DATABASE_URL: database.url });
  assert.equal(json.code, 1);
  const report = JSON.parse(json.stdout) as LedgerVerifyReport;
  assert.equal(report.ok, false);
  assert.deepEqual(
    report.violations.map((violation) => violation.invariant),
    // The planted posting is on payable: pending no longer equals the receivable less refunds.
    ['journal_unbalanced', 'pending_differs_from_receivable', 'ledger_unbalanced'],
  );
});

test('verify reports every invariant broken behind the database’s back, and nothing on sound rows', async () => {
  const { database, ledger } = await setUp();
  const merchantId = newId('mer');
  const otherMerchantId = newId('mer');
  await postLife(database, ledger, merchantId);
  await postLife(database, ledger, otherMerchantId);
  assert.deepEqual((await ledger.verify(database.sql)).violations, []);

  const ids = {
    unbalanced: newId('jnl'),
    empty: newId('jnl'),
    missingJournal: newId('jnl'),
    spanning: newId('jnl'),
    captureWithoutHold: newId('jnl'),
    refundWithoutCapture: newId('jnl'),
  };
  const holdWithoutAuthorization = newId('pay');
  const refundedNeverCaptured = newId('pay');
  const mine = merchantAccounts(merchantId, 'USD');
  const theirs = merchantAccounts(otherMerchantId, 'USD');
  await database.sql.begin(async (transaction) => {
    // Replica mode: no triggers fire and no foreign key is checked (superuser only).
    await transaction`set local session_replication_role = replica`;
    const account = async (code: string) =>
      (await transaction<{ id: bigint }[]>`select id from ledger.accounts where code = ${code}`)[0]!.id;
    const journal = (id: string, kind: string, paymentId: string | null) => transaction`
      insert into ledger.journals (id, kind, payment_id, merchant_id, occurred_at)
      values (${id}, ${kind}, ${paymentId}, ${merchantId}, now())`;
    const posting = (
      journalId: string,
      sequence: number,
      accountId: bigint,
      currency: string,
      amount: bigint,
    ) =>
      transaction`
        insert into ledger.postings (journal_id, merchant_id, sequence, account_id, currency, amount)
        values (${journalId}, ${merchantId}, ${sequence}, ${accountId}, ${currency}, ${amount})`;
    await transaction`
      insert into ledger.accounts (code, merchant_id, currency, role, normal_side)
      values (${mine.fee_revenue}, ${merchantId}, 'USD', 'fee_revenue', 'credit'),
             (${mine.bank}, ${merchantId}, 'USD', 'bank', 'debit')`;
    await journal(ids.unbalanced, 'fee', null);
    await posting(ids.unbalanced, 0, await account(mine.payable), 'USD', 100n);
    await posting(ids.unbalanced, 1, await account(mine.fee_revenue), 'USD', -90n);
    await journal(ids.empty, 'fee', null);
    await posting(ids.missingJournal, 0, await account(mine.bank), 'USD', 5n);
    await posting(ids.missingJournal, 1, await account(mine.payable), 'USD', -5n);
    await journal(ids.spanning, 'merchant_payout', null);
    await posting(ids.spanning, 0, await account(theirs.payable), 'USD', 7n);
    await posting(ids.spanning, 1, await account(mine.bank), 'USD', -7n);
    await posting(ids.spanning, 2, 999_999_999n, 'USD', 3n);
    await posting(ids.spanning, 3, await account(mine.bank), 'EUR', -3n);
    await journal(ids.captureWithoutHold, 'capture', holdWithoutAuthorization);
    await posting(ids.captureWithoutHold, 0, await account(mine.authorization_holds), 'USD', -50n);
    await posting(ids.captureWithoutHold, 1, await account(mine.authorization_hold_contra), 'USD', 50n);
    await journal(ids.refundWithoutCapture, 'refund', refundedNeverCaptured);
    await posting(ids.refundWithoutCapture, 0, await account(mine.payable), 'USD', 40n);
    await posting(ids.refundWithoutCapture, 1, await account(mine.refunds), 'USD', -40n);
  });

  const report = await ledger.verify(database.sql);
  assert.equal(report.ok, false);
  const found = new Set(report.violations.map((violation) => `${violation.invariant} ${violation.subject}`));
  const expected = [
    `journal_unbalanced ${ids.unbalanced}`,
    // 3 USD on the unknown account and -3 EUR on a USD account: unbalanced in both currencies.
    `journal_unbalanced ${ids.spanning}`,
    `journal_too_few_postings ${ids.empty}`,
    `journal_spans_merchants ${ids.spanning}`,
    `payment_hold_negative ${holdWithoutAuthorization}`,
    `payment_over_refunded ${refundedNeverCaptured}`,
    'ledger_unbalanced USD',
    'ledger_unbalanced EUR',
    // The planted payable postings (+100 −5 on mine, +7 on theirs) leave pending apart from the
    // receivable less refunds.
    `pending_differs_from_receivable ${merchantId} USD`,
    `pending_differs_from_receivable ${otherMerchantId} USD`,
  ];
  for (const item of expected) assert.ok(found.has(item), `missing ${item} in ${[...found].join('; ')}`);
  const invariants = new Set(report.violations.map((violation) => violation.invariant));
  for (const invariant of ['posting_unknown_journal', 'posting_unknown_account', 'posting_currency_mismatch'])
    assert.ok(invariants.has(invariant), `missing ${invariant}`);
  const missingJournal = report.violations.filter(
    (violation) => violation.invariant === 'posting_unknown_journal',
  );
  assert.equal(missingJournal.length, 2);
  for (const violation of missingJournal) assert.match(violation.detail, new RegExp(ids.missingJournal));
  // The spanning journal is unbalanced in USD and in EUR (two rows); nothing is reported about the two
  // sound payment lives.
  assert.equal(report.violations.length, expected.length + 5, JSON.stringify(report.violations, null, 1));
});
