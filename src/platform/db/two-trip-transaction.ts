// A read → compute → write transaction in two round trips (ADR 18): BEGIN travels with the first
// statements and COMMIT with the last ones, on one reserved connection (postgres.js pipelines the
// statements of a connection that are issued together). `sql.begin` instead awaits BEGIN alone, then
// each statement, then COMMIT alone. Any failure rolls back and the connection returns to the pool.
import type postgres from 'postgres';
import type { Sql } from './client.ts';

export type ReservedSql = postgres.ReservedSql<{ bigint: bigint }>;

type Results<T extends readonly unknown[]> = { -readonly [K in keyof T]: Awaited<T[K]> };

/**
 * The statements of a trip come from a callback, called after BEGIN was queued (for `first`) or
 * before COMMIT is (for `last`): postgres.js sends a query in the order it is first awaited, and a
 * repository function that awaits its own query sends it as soon as it is called.
 */
export interface TwoTrips {
  /** Sends BEGIN and these statements together; call it once, first. */
  first<T extends readonly PromiseLike<unknown>[] | []>(statements: () => T): Promise<Results<T>>;
  /** Sends these statements and COMMIT together; call it once, last. A failed statement rolls back. */
  last<T extends readonly PromiseLike<unknown>[] | []>(statements: () => T): Promise<Results<T>>;
}

export async function twoTripTransaction<T>(
  sql: Sql,
  work: (connection: ReservedSql, trips: TwoTrips) => Promise<T>,
): Promise<T> {
  const connection = (await sql.reserve()) as ReservedSql;
  let begun = false;
  let committed = false;
  const trips: TwoTrips = {
    async first(statements) {
      if (begun) throw new Error('twoTripTransaction: first() was already called');
      begun = true;
      // Awaited now, so it is sent before any statement, including those a function sends itself.
      const beginning = connection`begin`.then(() => undefined);
      const [, results] = await Promise.all([beginning, Promise.all(statements())]);
      return results as never;
    },
    async last(statements) {
      if (!begun || committed) throw new Error('twoTripTransaction: last() must follow first(), once');
      committed = true;
      // COMMIT goes through Promise.all after the statements, so it is sent after them.
      const [answers] = await Promise.all([Promise.all(statements()), connection`commit`]);
      return answers as never;
    },
  };
  try {
    const result = await work(connection, trips);
    if (begun && !committed) await connection`commit`;
    return result;
  } catch (error) {
    // After a failed statement or COMMIT the transaction is aborted or over; ROLLBACK ends it either
    // way (outside a transaction PostgreSQL only warns).
    if (begun) await connection`rollback`.catch(() => undefined);
    throw error;
  } finally {
    connection.release();
  }
}
