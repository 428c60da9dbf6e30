// Many transactions posting at once, from many connections: accounts created on first use by racing
// transactions, postings on shared accounts, and racing resolutions of one hold. The ledger must
// verify clean and balances must equal the sum of what was committed.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { createSql, type Sql } from '../src/platform/db/client.ts';
import { newId } from '../src/platform/ids.ts';
import type { CurrencyCode } from '../src/platform/money.ts';
import { loadConfiguration } from '../src/apps/configuration.ts';
import { createLogger } from '../src/platform/log.ts';
import { systemClock } from '../src/platform/clock.ts';
import {
  authorizationHold,
  authorizeAndCaptureJournals,
  captureJournal,
  ledgerModule,
  refundJournal,
  voidJournal,
  type LedgerFace,
} from '../src/modules/ledger/index.ts';

const parallelTransactions = 50;
/**
 * Connections the 50 transactions share: enough for real races (first use of accounts, one hold
 * resolved by many), few enough that the whole suite, running files in parallel against one server
 * with PostgreSQL's default max_connections of 100, does not run out.
 */
const poolConnections = 20;
let database: TestDatabase;
let pool: Sql;
let ledger: LedgerFace;

before(async () => {
  database = await createTestDatabase();
  pool = createSql({ url: database.url, maxConnections: poolConnections });
  const context = {
    ...loadConfiguration({}),
    sql: database.sql,
    log: createLogger({ level: 'silent' }),
    clock: systemClock,
  };
  ledger = (await ledgerModule.create!(context, {})).face as LedgerFace;
});
after(async () => {
  await pool.end({ timeout: 2 });
  await database.drop();
});

const stamp = () => ({ journalId: newId('jnl'), occurredAt: new Date() });

test(`${parallelTransactions} parallel transactions over ${poolConnections} connections on the same new accounts keep the ledger sound`, async () => {
  const merchantIds = [newId('mer'), newId('mer')];
  const currencies: readonly CurrencyCode[] = ['USD', 'EUR'];
  // Every transaction is a sale of a new payment (hold + capture) and, for half of them (in every
  // merchant and currency), a refund of part of it: all of them hit the same few accounts, none of
  // which exists before the race.
  const sales = Array.from({ length: parallelTransactions }, (_, index) => ({
    ref: {
      paymentId: newId('pay'),
      merchantId: merchantIds[index % 2]!,
      currency: currencies[Math.floor(index / 2) % 2]!,
    },
    amount: BigInt(100 + index),
    refund: index % 8 < 4 ? BigInt(10 + index) : 0n,
  }));
  const results = await Promise.allSettled(
    sales.map((sale) =>
      pool.begin(async (transaction) => {
        const journals = authorizeAndCaptureJournals(
          sale.ref,
          { amount: sale.amount },
          { hold: stamp(), capture: stamp() },
        );
        for (const journal of journals) await ledger.post(transaction, journal);
        if (sale.refund > 0n)
          await ledger.post(transaction, refundJournal(sale.ref, { refundAmount: sale.refund }, stamp()));
      }),
    ),
  );
  assert.deepEqual(
    results.filter((result) => result.status === 'rejected'),
    [],
  );
  const [connections] = await database.sql<{ count: bigint }[]>`
    select count(distinct journal.created_at)::bigint as count from ledger.journals journal`;
  assert.ok(connections!.count > 1n, 'the transactions really ran separately');
  for (const merchantId of merchantIds) {
    const expected = currencies
      .map((currency) => ({
        currency,
        pending: sales
          .filter((sale) => sale.ref.merchantId === merchantId && sale.ref.currency === currency)
          .reduce((sum, sale) => sum + sale.amount - sale.refund, 0n),
        available: 0n,
        inTransit: 0n,
        authorized: 0n,
      }))
      .sort((left, right) => (left.currency < right.currency ? -1 : 1));
    assert.deepEqual(await ledger.merchantBalances(database.sql, merchantId), expected);
  }
  const [accounts] = await database.sql<{ count: bigint }[]>`
    select count(*)::bigint as count from ledger.accounts where merchant_id in ${database.sql(merchantIds)}`;
  // Per merchant and currency: holds, hold contra, receivable, payable, refunds; created once each.
  assert.equal(accounts!.count, 2n * 2n * 5n);
  const report = await ledger.verify(database.sql);
  assert.deepEqual(report.violations, []);
  assert.equal(report.ok, true);
});

test(`${parallelTransactions} parallel resolutions of one hold: exactly one is posted`, async () => {
  const ref = { paymentId: newId('pay'), merchantId: newId('mer'), currency: 'USD' as const };
  await database.sql.begin((transaction) =>
    ledger.post(transaction, authorizationHold(ref, { authorized: 1_000n }, stamp())),
  );
  const results = await Promise.allSettled(
    Array.from({ length: parallelTransactions }, (_, index) =>
      pool.begin((transaction) =>
        ledger.post(
          transaction,
          index % 3 === 0
            ? voidJournal(ref, { authorized: 1_000n }, stamp())
            : captureJournal(ref, { captured: BigInt(500 + index), authorized: 1_000n }, stamp()),
        ),
      ),
    ),
  );
  const fulfilled = results.filter((result) => result.status === 'fulfilled');
  assert.equal(fulfilled.length, 1);
  for (const result of results) {
    if (result.status === 'rejected') assert.match(String(result.reason), /journals_hold_resolved_once/);
  }
  const balance = await ledger.paymentBalance(database.sql, ref.merchantId, ref.paymentId);
  assert.equal(balance.authorizedHold, 0n);
  assert.ok(balance.captured === 0n || (balance.captured >= 500n && balance.captured < 550n));
  assert.equal((await ledger.verify(database.sql)).ok, true);
});
