import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createEmptyDatabase } from '../../../test/support/database.ts';
import { coalescedWrite, createTransactionBatcher } from './batcher.ts';
import type { TransactionSql } from './client.ts';
import { barrier } from '../../../test/support/barrier.ts';

const database = await createEmptyDatabase();
after(() => database.drop());
before(async () => {
  await database.sql`create table written (item int primary key, xact text not null)`;
  await database.sql`create table coalesced (item int primary key check (item <> 13))`;
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

test('the works of a shared transaction write their rows as one statement; a refused row fails the batch and each work runs alone', async () => {
  const statements: number[] = [];
  const insertItem = coalescedWrite(async (transaction: TransactionSql, items: readonly number[]) => {
    statements.push(items.length);
    const rows = await transaction<{ item: number }[]>`
      insert into coalesced (item) select * from unnest(${items}::int[]) returning item`;
    return rows.map((row) => row.item * 10);
  });
  const batcher = createTransactionBatcher(database.sql, { maxInFlight: 1, maxBatch: 8 });
  const work = (item: number, arrived: () => Promise<void>) => async (transaction: TransactionSql) => {
    await transaction`select 1`;
    await arrived();
    return insertItem(transaction, item);
  };
  const now = async () => undefined;
  // The first runs alone (one row, at once); the next four share a transaction: one statement.
  const four = barrier(4);
  assert.deepEqual(
    await Promise.all([
      batcher.run(work(1, now)),
      ...[2, 3, 4, 5].map((item) => batcher.run(work(item, four))),
    ]),
    [10, 20, 30, 40, 50],
  );
  assert.deepEqual(statements, [1, 4]);
  statements.length = 0;
  const again = barrier(4);
  const settled = await Promise.allSettled([
    batcher.run(work(6, now)),
    ...[7, 13, 8, 9].map((item) => batcher.run(work(item, again))),
  ]);
  assert.deepEqual(
    settled.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : 'refused')),
    [60, 70, 'refused', 80, 90],
  );
  // 6 alone; 7, 13, 8, 9 together (refused, rolled back); then each of those four alone.
  assert.deepEqual(statements, [1, 4, 1, 1, 1, 1]);
  const rows = await database.sql<{ item: number }[]>`select item from coalesced order by item`;
  assert.deepEqual(
    rows.map((row) => row.item),
    [1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
});
