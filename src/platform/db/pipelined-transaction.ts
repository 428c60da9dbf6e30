// Transactions without round trips of their own (ADR 18). `sql.begin` of postgres.js sends BEGIN and
// waits for it, runs the work, then sends COMMIT and waits again: two round trips that carry no
// statement. Here, on one reserved connection, BEGIN is queued first and travels in the same write as
// the work's first statement (postgres.js sends what is issued in the same tick together), and the
// work may send its final statements together with COMMIT (`commitWith`). A read → compute → write
// transaction then costs two round trips. Any failure rolls back; the connection returns to the pool.
// The one thing the handed-out transaction lacks is `savepoint` (use `sql.begin` where one is needed).
import type postgres from 'postgres';
import { SpanKind, withSpan } from '../tracing.ts';
import type { Sql, TransactionSql } from './client.ts';

type Results<T extends readonly unknown[]> = { -readonly [K in keyof T]: Awaited<T[K]> };

/**
 * Sends the callback's statements and COMMIT together; call it once, as the work's last step. Every
 * statement of the final trip must be issued inside the callback (a function that awaits one query
 * before issuing the next would send the second after COMMIT: such a statement is refused).
 */
export type CommitWith = <T extends readonly PromiseLike<unknown>[] | []>(
  statements: () => T,
) => Promise<Results<T>>;

export class StatementAfterCommitError extends Error {}

export async function pipelinedTransaction<T>(
  sql: Sql,
  work: (transaction: TransactionSql, commitWith: CommitWith) => Promise<T>,
): Promise<T> {
  return withSpan(
    'db transaction',
    { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql' } },
    () => run(sql, work),
  );
}

async function run<T>(
  sql: Sql,
  work: (transaction: TransactionSql, commitWith: CommitWith) => Promise<T>,
): Promise<T> {
  const reserved = (await sql.reserve()) as postgres.ReservedSql<{ bigint: bigint }>;
  let committing = false;
  // Statements issued after COMMIT was queued would run outside the transaction: refuse them.
  const connection = new Proxy(reserved, {
    apply(target, thisArgument, args: unknown[]) {
      if (committing) throw new StatementAfterCommitError('a statement was issued after COMMIT was sent');
      return Reflect.apply(target as unknown as (...a: unknown[]) => unknown, thisArgument, args);
    },
  });
  // Awaited at once, so it is sent before any statement of the work, including those a function
  // issues as soon as it is called. Its failure is read below (never an unhandled rejection).
  const begun = reserved`begin`.then(
    () => undefined,
    (error: unknown) => ({ error }),
  );
  let committed = false;
  const commitWith: CommitWith = async (statements) => {
    if (committing) throw new Error('pipelinedTransaction: commitWith() was already called');
    const batch = Promise.all(statements());
    committing = true;
    // COMMIT goes through Promise.all after the statements, so it is sent after them. A failed
    // statement aborts the transaction, and COMMIT then rolls back.
    const [answers, done] = await Promise.all([batch, reserved`commit`]);
    committed = true;
    assertCommitted(done);
    return answers as never;
  };
  try {
    const result = await work(connection as unknown as TransactionSql, commitWith);
    const failed = await begun;
    if (failed) throw failed.error;
    if (!committed) {
      committing = true;
      assertCommitted(await reserved`commit`);
    }
    return result;
  } catch (error) {
    // After a failed statement or COMMIT the transaction is aborted or over; ROLLBACK ends it either
    // way (outside a transaction PostgreSQL only warns).
    await reserved`rollback`.catch(() => undefined);
    throw error;
  } finally {
    reserved.release();
  }
}

/** COMMIT of a transaction in which a statement failed (its error caught by the work) rolls back. */
function assertCommitted(done: { command?: string }): void {
  if (done.command === 'ROLLBACK')
    throw new Error('the transaction was rolled back at COMMIT: a statement in it had failed');
}
