// The ledger against real PostgreSQL: append-only enforced by the database, balance checked at
// commit, two-phase holds resolved once, and the ledger face's reads.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { newId } from '../src/platform/ids.ts';
import {
  authorizationHold,
  captureJournal,
  merchantAccounts,
  refundJournal,
  voidJournal,
  type Journal,
  type LedgerFace,
} from '../src/modules/ledger/index.ts';
import { ledgerModule } from '../src/modules/ledger/index.ts';
import { loadConfiguration } from '../src/apps/configuration.ts';
import { createLogger } from '../src/platform/log.ts';
import { systemClock } from '../src/platform/clock.ts';

let database: TestDatabase;
let ledger: LedgerFace;

before(async () => {
  database = await createTestDatabase();
  const runtime = await ledgerModule.create!(
    {
      ...loadConfiguration({}),
      sql: database.sql,
      log: createLogger({ level: 'silent' }),
      clock: systemClock,
    },
    {},
  );
  ledger = runtime.face as LedgerFace;
});
after(async () => {
  await database.drop();
});

const stamp = () => ({ journalId: newId('jnl'), occurredAt: new Date() });

function payment(merchantId = newId('mer')) {
  return { paymentId: newId('pay'), merchantId, currency: 'USD' as const };
}

async function post(...journals: Journal[]): Promise<void> {
  await database.sql.begin(async (transaction) => {
    for (const journal of journals) await ledger.post(transaction, journal);
  });
}

async function refusal(work: () => Promise<unknown>): Promise<string> {
  try {
    await work();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  assert.fail('the database accepted what it must refuse');
}

test('postings, journals and accounts refuse UPDATE, DELETE and TRUNCATE in the database', async () => {
  const ref = payment();
  await post(authorizationHold(ref, { authorized: 1000n }, stamp()));
  const { sql } = database;
  for (const table of ['postings', 'journals', 'accounts']) {
    const column = table === 'postings' ? 'amount = amount + 1' : 'created_at = now()';
    assert.match(
      await refusal(() => sql.unsafe(`update ledger.${table} set ${column}`)),
      /append-only: UPDATE/,
    );
    assert.match(await refusal(() => sql.unsafe(`delete from ledger.${table}`)), /append-only: DELETE/);
    assert.match(
      await refusal(() => sql.unsafe(`truncate ledger.${table} cascade`)),
      /append-only: TRUNCATE/,
    );
  }
  const [count] = await sql<{ postings: bigint }[]>`select count(*) as postings from ledger.postings`;
  assert.ok(count!.postings >= 2n);
  assert.deepEqual((await ledger.paymentBalance(sql, ref.merchantId, ref.paymentId)).authorizedHold, 1000n);
});

async function rawJournal(
  transaction: TestDatabase['sql'],
  journalId: string,
  merchantId: string,
  amounts: readonly bigint[],
) {
  const accounts = merchantAccounts(merchantId, 'USD');
  // Between bank and fee revenue: a journal shape that leaves the other invariants (pending equals
  // the receivable less refunds) alone, so that verify afterwards speaks of balance only.
  await transaction`
    insert into ledger.accounts (code, merchant_id, currency, role, normal_side)
    values (${accounts.fee_revenue}, ${merchantId}, 'USD', 'fee_revenue', 'credit'),
           (${accounts.bank}, ${merchantId}, 'USD', 'bank', 'debit')
    on conflict do nothing`;
  await transaction`
    insert into ledger.journals (id, kind, merchant_id, occurred_at)
    values (${journalId}, 'merchant_payout', ${merchantId}, now())`;
  let sequence = 0;
  for (const amount of amounts) {
    const code = sequence % 2 === 0 ? accounts.fee_revenue : accounts.bank;
    await transaction`
      insert into ledger.postings (journal_id, merchant_id, sequence, account_id, currency, amount)
      select ${journalId}, merchant_id, ${sequence}, id, 'USD', ${amount} from ledger.accounts where code = ${code}`;
    sequence += 1;
  }
}

test('an unbalanced journal written with raw SQL is refused at commit, not before', async () => {
  const merchantId = newId('mer');
  const journalId = newId('jnl');
  const message = await refusal(() =>
    database.sql.begin(async (transaction) => {
      await rawJournal(transaction as unknown as TestDatabase['sql'], journalId, merchantId, [500n, -499n]);
      // Still inside the transaction: the deferred trigger has not run yet.
      const [row] = await transaction<{ count: bigint }[]>`
        select count(*) from ledger.postings where journal_id = ${journalId}`;
      assert.equal(row!.count, 2n);
    }),
  );
  assert.match(message, /unbalanced in USD: postings sum to 1/);
  const [row] = await database.sql<{ count: bigint }[]>`
    select count(*) from ledger.journals where id = ${journalId}`;
  assert.equal(row!.count, 0n);
});

test('a journal with one posting, or none, is refused at commit', async () => {
  const merchantId = newId('mer');
  assert.match(
    await refusal(() =>
      database.sql.begin((transaction) =>
        rawJournal(transaction as unknown as TestDatabase['sql'], newId('jnl'), merchantId, [500n]),
      ),
    ),
    /has 1 posting\(s\); it needs at least 2/,
  );
  assert.match(
    await refusal(() =>
      database.sql.begin((transaction) =>
        rawJournal(transaction as unknown as TestDatabase['sql'], newId('jnl'), merchantId, []),
      ),
    ),
    /has 0 posting\(s\)/,
  );
});

test('a posting added later to a balanced journal is refused at commit', async () => {
  const merchantId = newId('mer');
  const journalId = newId('jnl');
  await database.sql.begin((transaction) =>
    rawJournal(transaction as unknown as TestDatabase['sql'], journalId, merchantId, [700n, -700n]),
  );
  const accounts = merchantAccounts(merchantId, 'USD');
  const message = await refusal(
    () => database.sql`
    insert into ledger.postings (journal_id, merchant_id, sequence, account_id, currency, amount)
    select ${journalId}, merchant_id, 2, id, 'USD', 5 from ledger.accounts where code = ${accounts.bank}`,
  );
  assert.match(message, /unbalanced in USD: postings sum to 5/);
  assert.equal((await ledger.verify(database.sql)).ok, true);
});

test('post() asserts the journal balances and writes nothing when it does not', async () => {
  const ref = payment();
  const accounts = merchantAccounts(ref.merchantId, 'USD');
  const journalId = newId('jnl');
  const unbalanced: Journal = {
    journalId,
    kind: 'capture',
    paymentId: ref.paymentId,
    occurredAt: new Date(),
    postings: [
      { accountCode: accounts.receivable_from_acquirer, amount: 100n, currency: 'USD' },
      { accountCode: accounts.payable, amount: -99n, currency: 'USD' },
    ],
  };
  await assert.rejects(post(unbalanced), { name: 'AssertionError', message: /unbalanced in USD/ });
  const otherMerchant = merchantAccounts(newId('mer'), 'USD');
  const spanning: Journal = {
    ...unbalanced,
    postings: [
      { accountCode: accounts.receivable_from_acquirer, amount: 100n, currency: 'USD' },
      { accountCode: otherMerchant.payable, amount: -100n, currency: 'USD' },
    ],
  };
  await assert.rejects(post(spanning), { name: 'AssertionError', message: /spans two merchants/ });
  const [row] = await database.sql<{ count: bigint }[]>`
    select count(*) from ledger.journals where id = ${journalId}`;
  assert.equal(row!.count, 0n);
});

test('a hold is resolved at most once: a second capture or a void after capture is refused', async () => {
  const ref = payment();
  await post(authorizationHold(ref, { authorized: 1000n }, stamp()));
  await post(captureJournal(ref, { captured: 600n, authorized: 1000n }, stamp()));
  assert.match(
    await refusal(() => post(captureJournal(ref, { captured: 600n, authorized: 1000n }, stamp()))),
    /journals_hold_resolved_once/,
  );
  assert.match(
    await refusal(() => post(voidJournal(ref, { authorized: 1000n }, stamp()))),
    /journals_hold_resolved_once/,
  );
  assert.match(
    await refusal(() => post(authorizationHold(ref, { authorized: 1000n }, stamp()))),
    /journals_one_hold_per_payment/,
  );
  const journal = captureJournal(payment(), { captured: 1n, authorized: 1n }, stamp());
  await post(authorizationHold(payment(), { authorized: 5n }, stamp()));
  assert.match(
    await refusal(() => post(journal, { ...journal, kind: 'refund', paymentId: newId('pay') })),
    /journals_pkey/,
  );
});

test('paymentEntries and paymentBalance read a payment from its postings, scoped to its merchant', async () => {
  const ref = payment();
  await post(authorizationHold(ref, { authorized: 1000n }, stamp()));
  await post(captureJournal(ref, { captured: 800n, authorized: 1000n }, stamp()));
  await post(refundJournal(ref, { refundAmount: 300n }, stamp()));
  const entries = await ledger.paymentEntries(database.sql, ref.merchantId, ref.paymentId);
  assert.deepEqual(
    entries.map((entry) => [entry.journalKind, entry.accountRole, entry.amount]),
    [
      ['authorization_hold', 'authorization_holds', 1000n],
      ['authorization_hold', 'authorization_hold_contra', -1000n],
      ['capture', 'authorization_holds', -1000n],
      ['capture', 'authorization_hold_contra', 1000n],
      ['capture', 'receivable_from_acquirer', 800n],
      ['capture', 'payable', -800n],
      ['refund', 'payable', 300n],
      ['refund', 'refunds', -300n],
    ],
  );
  for (const entry of entries) {
    assert.match(entry.entryId, /^le_\d+$/);
    assert.equal(entry.currency, 'USD');
    assert.ok(entry.createdAt instanceof Date);
  }
  assert.deepEqual(await ledger.paymentBalance(database.sql, ref.merchantId, ref.paymentId), {
    authorizedHold: 0n,
    captured: 800n,
    refunded: 300n,
    net: 500n,
  });
  // Another merchant asking for this payment sees nothing.
  assert.deepEqual(await ledger.paymentEntries(database.sql, newId('mer'), ref.paymentId), []);
  assert.deepEqual(await ledger.paymentBalance(database.sql, newId('mer'), ref.paymentId), {
    authorizedHold: 0n,
    captured: 0n,
    refunded: 0n,
    net: 0n,
  });
  assert.deepEqual(await ledger.merchantBalances(database.sql, ref.merchantId), [
    { currency: 'USD', pending: 500n, available: 0n, inTransit: 0n, authorized: 0n },
  ]);
});

test('merchantBalances: available and pending per currency, sorted by currency', async () => {
  const merchantId = newId('mer');
  const usd = { paymentId: newId('pay'), merchantId, currency: 'USD' as const };
  const eur = { paymentId: newId('pay'), merchantId, currency: 'EUR' as const };
  const jpy = { paymentId: newId('pay'), merchantId, currency: 'JPY' as const };
  await post(authorizationHold(usd, { authorized: 2500n }, stamp()));
  await post(authorizationHold(eur, { authorized: 900n }, stamp()));
  await post(captureJournal(eur, { captured: 900n, authorized: 900n }, stamp()));
  await post(authorizationHold(jpy, { authorized: 5000n }, stamp()));
  await post(voidJournal(jpy, { authorized: 5000n }, stamp()));
  assert.deepEqual(await ledger.merchantBalances(database.sql, merchantId), [
    { currency: 'EUR', pending: 900n, available: 0n, inTransit: 0n, authorized: 0n },
    { currency: 'JPY', pending: 0n, available: 0n, inTransit: 0n, authorized: 0n },
    { currency: 'USD', pending: 0n, available: 0n, inTransit: 0n, authorized: 2500n },
  ]);
  assert.deepEqual(await ledger.merchantBalances(database.sql, newId('mer')), []);
  assert.equal((await ledger.verify(database.sql)).ok, true);
});

test('the schema refuses postings in another currency than their account, and accounts whose code lies', async () => {
  const ref = payment();
  await post(authorizationHold(ref, { authorized: 300n }, stamp()));
  const accounts = merchantAccounts(ref.merchantId, 'USD');
  const journalId = newId('jnl');
  const message = await refusal(() =>
    database.sql.begin(async (transaction) => {
      await transaction`
        insert into ledger.journals (id, kind, merchant_id, occurred_at)
        values (${journalId}, 'fee', ${ref.merchantId}, now())`;
      await transaction`
        insert into ledger.postings (journal_id, merchant_id, sequence, account_id, currency, amount)
        select ${journalId}, merchant_id, 0, id, 'EUR', 5 from ledger.accounts where code = ${accounts.authorization_holds}`;
    }),
  );
  assert.match(message, /postings_account_currency/);
  assert.match(
    await refusal(
      () => database.sql`
        insert into ledger.accounts (code, merchant_id, currency, role, normal_side)
        values (${merchantAccounts(ref.merchantId, 'EUR').payable}, ${ref.merchantId}, 'USD', 'payable', 'credit')`,
    ),
    /accounts_code_matches/,
  );
  assert.match(
    await refusal(
      () => database.sql`
        insert into ledger.accounts (code, merchant_id, currency, role, normal_side)
        values (${merchantAccounts(ref.merchantId, 'EUR').payable}, ${ref.merchantId}, 'EUR', 'payable', 'debit')`,
    ),
    /accounts_normal_side_matches/,
  );
  assert.match(await refusal(() => database.sql`update ledger.postings set amount = 0`), /append-only/);
});
