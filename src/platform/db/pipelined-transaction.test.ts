// pipelinedTransaction against real PostgreSQL: the work's statements run inside one transaction, in
// order, BEGIN before the first (whether they are lazy queries or functions that send their own) and
// COMMIT after the last; commitWith sends the final ones with COMMIT; a failure anywhere rolls
// everything back; a statement issued after COMMIT is refused; a statement whose error the work
// swallowed makes the transaction fail instead of reporting a COMMIT that rolled back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import type { Queryable } from './client.ts';
import { pipelinedTransaction, StatementAfterCommitError } from './pipelined-transaction.ts';

let database: TestDatabase;
before(async () => {
  database = await createTestDatabase();
  await database.sql`create table pipelined (id int primary key, note text)`;
});
after(async () => {
  await database.drop();
});

async function insertItself(sql: Queryable, id: number): Promise<void> {
  await sql`insert into pipelined (id, note) values (${id}, 'sent by a function')`;
}

async function ids(): Promise<number[]> {
  return (await database.sql<{ id: number }[]>`select id from pipelined order by id`).map((row) => row.id);
}

test('the statements and those sent with COMMIT commit together, in one transaction', async () => {
  const answer = await pipelinedTransaction(database.sql, async (transaction, commitWith) => {
    await insertItself(transaction, 1);
    const [first] = await transaction<{ xid: string }[]>`select pg_current_xact_id()::text as xid`;
    const [[last]] = await commitWith(() => [
      transaction<{ xid: string }[]>`select pg_current_xact_id()::text as xid`,
      insertItself(transaction, 2),
      transaction`insert into pipelined (id, note) values (3, 'lazy')`,
    ]);
    return { first: first!.xid, last: last!.xid };
  });
  assert.equal(answer.first, answer.last, 'one transaction');
  await pipelinedTransaction(database.sql, async (transaction) => {
    await transaction`insert into pipelined (id, note) values (4, 'committed after the work')`;
  });
  assert.deepEqual(await ids(), [1, 2, 3, 4]);
});

test('a failing final statement rolls back the earlier ones and the others sent with COMMIT', async () => {
  await assert.rejects(
    pipelinedTransaction(database.sql, async (transaction, commitWith) => {
      await insertItself(transaction, 10);
      await commitWith(() => [insertItself(transaction, 11), transaction`select 1 / 0`]);
    }),
    /division by zero/,
  );
  assert.deepEqual(await ids(), [1, 2, 3, 4], 'neither 10 nor 11 committed: COMMIT was not sent before them');
});

test('a failure in the work rolls back what the first statement (sent with BEGIN) wrote', async () => {
  await assert.rejects(
    pipelinedTransaction(database.sql, async (transaction) => {
      await insertItself(transaction, 20);
      throw new Error('computing failed');
    }),
    /computing failed/,
  );
  assert.deepEqual(await ids(), [1, 2, 3, 4], '20 was written inside the transaction, after BEGIN');
});

test('a failed statement whose error the work swallowed fails the transaction', async () => {
  await assert.rejects(
    pipelinedTransaction(database.sql, async (transaction) => {
      await insertItself(transaction, 30);
      await transaction`select 1 / 0`.catch(() => undefined);
      return 'looks fine';
    }),
    /rolled back at COMMIT/,
  );
  assert.deepEqual(await ids(), [1, 2, 3, 4]);
});

test('a statement issued after COMMIT was sent is refused', async () => {
  await assert.rejects(
    pipelinedTransaction(database.sql, async (transaction, commitWith) => {
      await commitWith(() => [
        (async () => {
          await insertItself(transaction, 40);
          await insertItself(transaction, 41);
        })(),
      ]);
    }),
    StatementAfterCommitError,
  );
});

test('connections go back to the pool outside any transaction', async () => {
  for (let round = 0; round < 6; round++) {
    await assert.rejects(
      pipelinedTransaction(database.sql, async (transaction) => {
        await transaction`select 1 / 0`;
      }),
      /division by zero/,
    );
  }
  // Every connection of the pool (3): two statements outside a transaction get two transaction ids.
  const connections = await Promise.all([1, 2, 3].map(() => database.sql.reserve()));
  const states = await Promise.all(
    connections.map(async (connection) => {
      const [first] = await connection<{ xid: string }[]>`select pg_current_xact_id()::text as xid`;
      const [second] = await connection<{ xid: string }[]>`select pg_current_xact_id()::text as xid`;
      connection.release();
      return first!.xid !== second!.xid;
    }),
  );
  assert.deepEqual(states, [true, true, true]);
});
