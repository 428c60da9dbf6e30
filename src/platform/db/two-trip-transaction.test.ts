// twoTripTransaction against real PostgreSQL: its statements run inside one transaction, in order,
// BEGIN before the first ones and COMMIT after the last ones (whether they are lazy queries or
// functions that send their own), a failure anywhere rolls everything back, and the connection is
// reusable afterwards.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import type { Queryable } from './client.ts';
import { twoTripTransaction } from './two-trip-transaction.ts';

let database: TestDatabase;
before(async () => {
  database = await createTestDatabase();
  await database.sql`create table two_trips (id int primary key, note text)`;
});
after(async () => {
  await database.drop();
});

async function insertItself(sql: Queryable, id: number): Promise<void> {
  await sql`insert into two_trips (id, note) values (${id}, 'sent by a function')`;
}

async function ids(): Promise<number[]> {
  return (await database.sql<{ id: number }[]>`select id from two_trips order by id`).map((row) => row.id);
}

test('first and last statements commit together, BEGIN first and COMMIT last', async () => {
  const answer = await twoTripTransaction(database.sql, async (connection, trips) => {
    const [[xid], inserted] = await trips.first(() => [
      connection<{ xid: string }[]>`select pg_current_xact_id()::text as xid`,
      insertItself(connection, 1),
    ]);
    const [[same]] = await trips.last(() => [
      connection<{ xid: string }[]>`select pg_current_xact_id()::text as xid`,
      insertItself(connection, 2),
      connection`insert into two_trips (id, note) values (3, 'lazy')`,
    ]);
    assert.equal(inserted, undefined);
    return { first: xid!.xid, last: same!.xid };
  });
  assert.equal(answer.first, answer.last, 'one transaction');
  assert.deepEqual(await ids(), [1, 2, 3]);
});

test('a failing last statement rolls back the first ones and the others of its trip', async () => {
  await assert.rejects(
    twoTripTransaction(database.sql, async (connection, trips) => {
      await trips.first(() => [insertItself(connection, 10)]);
      await trips.last(() => [insertItself(connection, 11), connection`select 1 / 0`]);
    }),
    /division by zero/,
  );
  assert.deepEqual(await ids(), [1, 2, 3], 'neither 10 nor 11 committed: COMMIT was not sent before them');
});

test('a failure between the trips rolls back; a transaction without last() commits its first trip', async () => {
  await assert.rejects(
    twoTripTransaction(database.sql, async (connection, trips) => {
      await trips.first(() => [insertItself(connection, 20)]);
      throw new Error('computing failed');
    }),
    /computing failed/,
  );
  await twoTripTransaction(database.sql, async (connection, trips) => {
    await trips.first(() => [connection`insert into two_trips (id, note) values (21, 'lazy')`]);
  });
  assert.deepEqual(await ids(), [1, 2, 3, 21]);
});

test('the connection goes back to the pool clean after each case', async () => {
  for (let round = 0; round < 5; round++) {
    await assert.rejects(
      twoTripTransaction(database.sql, async (connection, trips) => {
        await trips.first(() => [connection`select 1 / 0`]);
      }),
      /division by zero/,
    );
  }
  const [state] = await database.sql<
    { open: boolean }[]
  >`select pg_current_xact_id_if_assigned() is not null as open`;
  assert.equal(state!.open, false);
  assert.deepEqual(await ids(), [1, 2, 3, 21]);
});
