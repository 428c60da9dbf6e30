import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createEmptyDatabase } from '../../../test/support/database.ts';
import { createTransactionBatcher } from './batcher.ts';

const database = await createEmptyDatabase();
after(() => database.drop());
before(async () => {
  await database.sql`create table written (item int primary key, xact text not null)`;
});

/** Work that writes its item's row and answers the transaction it ran in; item 13 is refused. */
const write =
  (item: number) => async (transaction: Parameters<Parameters<typeof database.sql.begin>[1]>[0]) => {
    const [row] = await transaction<{ xact: string }[]>`select pg_current_xact_id()::text as xact`;
    if (item === 13) throw new Error('thirteen refused');
    await transaction`insert into written (item, xact) values (${item}, ${row!.xact})`;
    return { item, xact: row!.xact };
  };

test('under load, callers share a transaction (one commit for many); each gets its own answer', async () => {
  const batcher = createTransactionBatcher(database.sql, { maxInFlight: 1, maxBatch: 8 });
  const answers = await Promise.all(Array.from({ length: 17 }, (_, index) => batcher.run(write(20 + index))));
  assert.deepEqual(
    answers.map((answer) => answer.item),
    Array.from({ length: 17 }, (_, index) => 20 + index),
  );
  // The first goes out alone at once; the 16 that queued behind it leave as two batches of 8.
  const transactions = new Set(answers.map((answer) => answer.xact));
  assert.equal(transactions.size, 3);
  assert.deepEqual(batcher.counts, { statements: 3, items: 17, fallbacks: 0 });
  const rows = await database.sql<{ xact: string; count: bigint }[]>`
    select xact, count(*) as count from written group by xact order by count(*)`;
  assert.deepEqual(
    rows.map((row) => Number(row.count)),
    [1, 8, 8],
  );
  await database.sql`truncate written`;
});

test("one caller's failure rolls its batch back and the others run alone: each written once, the failure its own", async () => {
  const batcher = createTransactionBatcher(database.sql, { maxInFlight: 1, maxBatch: 8 });
  const settled = await Promise.allSettled([10, 11, 12, 13, 14, 15].map((item) => batcher.run(write(item))));
  assert.deepEqual(
    settled.map((outcome) => outcome.status),
    ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
  );
  assert.match(String((settled[3] as PromiseRejectedResult).reason), /thirteen refused/);
  assert.equal(batcher.counts.fallbacks, 1);
  const rows = await database.sql<{ item: number }[]>`select item from written order by item`;
  assert.deepEqual(
    rows.map((row) => row.item),
    [10, 11, 12, 14, 15],
  );
  await database.sql`truncate written`;
});
