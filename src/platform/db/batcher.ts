// Batching across requests (ADR 18's third step): concurrent callers' writes of one shape go to the
// database as one statement (one round trip, one commit for many rows) instead of one each.
//
// No caller waits for a batch to fill: an item goes out at once while fewer than `maxInFlight`
// statements are running; the items that arrive meanwhile queue and leave together as the next
// statement when one returns. At low load every item is its own statement (no added latency); under
// load, batches grow with the queue.
//
// One caller's bad item must not fail the others: when the server refuses a batch's statement, each
// of its items is run again alone (`runOne`), so each caller gets its own answer or its own error.
// When the connection is lost instead, the batch may have committed: every caller gets that error. A batch
// statement must therefore be all-or-nothing (one statement is), and running an item alone after
// its batch failed must be safe (the batch wrote nothing).
import { bindToActiveContext } from '../tracing.ts';
import { isDatabaseUnavailable, type Sql, type TransactionSql } from './client.ts';

export interface BatcherOptions<Item, Result> {
  /** Runs several items as one all-or-nothing statement; the results in the items' order. */
  readonly runBatch: (items: readonly Item[]) => Promise<readonly Result[]>;
  /** Runs one item alone (a lone item, and each item of a batch whose statement failed). */
  readonly runOne: (item: Item) => Promise<Result>;
  /** Statements running at once (each holds a connection of the pool while it runs). */
  readonly maxInFlight: number;
  /** Items in one statement at most. */
  readonly maxBatch: number;
}

export interface Batcher<Item, Result> {
  submit(item: Item): Promise<Result>;
  /** How many statements and items went out (a test's and a metric's view). */
  readonly counts: { readonly statements: number; readonly items: number; readonly fallbacks: number };
}

interface Waiting<Item, Result> {
  readonly item: Item;
  readonly resolve: (result: Result) => void;
  readonly reject: (error: unknown) => void;
}

export function createBatcher<Item, Result>(options: BatcherOptions<Item, Result>): Batcher<Item, Result> {
  if (options.maxInFlight < 1 || options.maxBatch < 1)
    throw new RangeError('a batcher needs room for one item');
  const queue: Waiting<Item, Result>[] = [];
  const counts = { statements: 0, items: 0, fallbacks: 0 };
  let inFlight = 0;

  async function runAlone(waiting: Waiting<Item, Result>): Promise<void> {
    try {
      waiting.resolve(await options.runOne(waiting.item));
    } catch (error) {
      waiting.reject(error);
    }
  }

  async function run(batch: Waiting<Item, Result>[]): Promise<void> {
    counts.statements += 1;
    counts.items += batch.length;
    if (batch.length === 1) return runAlone(batch[0]!);
    let results: readonly Result[];
    try {
      results = await options.runBatch(batch.map((waiting) => waiting.item));
      if (results.length !== batch.length) {
        throw new Error(`a batch of ${batch.length} answered ${results.length} results`);
      }
    } catch (error) {
      // The connection went away: whether the batch committed is not known (its answer may be what
      // was lost), so nobody runs again alone — each caller gets the error, as it would have alone,
      // and resolves it as any lost answer is resolved (the idempotency key, the janitor).
      if (isDatabaseUnavailable(error)) {
        for (const waiting of batch) waiting.reject(error);
        return;
      }
      // The server refused it, so nothing of it was written, and whose item failed the statement is
      // not known: each runs alone and gets its own answer.
      counts.fallbacks += 1;
      await Promise.all(batch.map(runAlone));
      return;
    }
    batch.forEach((waiting, index) => waiting.resolve(results[index]!));
  }

  function pump(): void {
    while (inFlight < options.maxInFlight && queue.length > 0) {
      const batch = queue.splice(0, options.maxBatch);
      inFlight += 1;
      void run(batch).finally(() => {
        inFlight -= 1;
        pump();
      });
    }
  }

  return {
    counts,
    submit(item) {
      return new Promise<Result>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        pump();
      });
    },
  };
}

/** One value per database client, made on its first use (a batcher per pool). */
export function perClient<Client extends object, Value>(
  create: (client: Client) => Value,
): (client: Client) => Value {
  const made = new WeakMap<Client, Value>();
  return (client) => {
    let value = made.get(client);
    if (value === undefined) {
      value = create(client);
      made.set(client, value);
    }
    return value;
  };
}

/**
 * Work of one caller inside a transaction. It may run twice: first in a batch whose transaction
 * rolled back (another caller's work failed), then alone; it must write only to the database.
 */
export type TransactionWork<T> = (transaction: TransactionSql) => Promise<T>;

export interface TransactionBatcher {
  /** Runs `work` in a transaction, shared with other callers' work under load; its own result or error. */
  run<T>(work: TransactionWork<T>): Promise<T>;
  readonly counts: Batcher<unknown, unknown>['counts'];
}

/**
 * Concurrent callers' transactions as one (ADR 18): under load, the work of several callers runs in
 * one transaction, its statements pipelined, with one BEGIN and one COMMIT for all of them. All or
 * nothing: when any work fails, the transaction rolls back and each work runs again alone.
 *
 * Only for work whose every change of an existing row is guarded (`where version = …`) and fails
 * when its guard misses: the works of a batch share one transaction, so a `for update` of one does
 * not hold another back, but a second change of one row misses its guard and sends the batch one by one.
 */
export function createTransactionBatcher(
  sql: Sql,
  options: Pick<BatcherOptions<unknown, unknown>, 'maxInFlight' | 'maxBatch'>,
): TransactionBatcher {
  const batcher = createBatcher<TransactionWork<unknown>, unknown>({
    ...options,
    runOne: (work) => sql.begin((transaction) => work(transaction)) as Promise<unknown>,
    runBatch: (works) =>
      sql.begin(async (transaction) => {
        sharedTransactions.add(transaction);
        // Every work settles before the transaction ends (no statement is left in flight).
        const settled = await Promise.allSettled(works.map((work) => work(transaction)));
        const failed = settled.find((outcome) => outcome.status === 'rejected');
        if (failed) throw failed.reason;
        return settled.map((outcome) => (outcome as PromiseFulfilledResult<unknown>).value);
      }) as Promise<unknown[]>,
  });
  return {
    counts: batcher.counts,
    run: <T>(work: TransactionWork<T>) =>
      batcher.submit(bindToActiveContext(work) as TransactionWork<unknown>) as Promise<T>,
  };
}

function afterTwoTurns(run: () => void): void {
  setImmediate(() => setImmediate(run));
}

/** Transactions the batcher runs several callers' work in (their writes are coalesced). */
const sharedTransactions = new WeakSet<object>();

interface PendingRows<Row, Result> {
  readonly rows: Row[];
  readonly waiters: { resolve: (result: Result) => void; reject: (error: unknown) => void }[];
}

/**
 * A write whose rows, from the works sharing one transaction (`createTransactionBatcher`), leave as
 * one statement: the works of a batch reach the same write within a turn or two of the event loop (their
 * answers may arrive in more than one read), each adds its row, and the rows go out together. `write`
 * answers one result per row, in the rows' order. On a transaction of one work (or outside any
 * batch) each row is its own statement at once, as a plain write would be.
 *
 * When the statement fails, every row's caller gets the error: the shared transaction is lost
 * anyway, and each work then runs again alone.
 */
export function coalescedWrite<Row, Result>(
  write: (transaction: TransactionSql, rows: readonly Row[]) => Promise<readonly Result[]>,
): (transaction: TransactionSql, row: Row) => Promise<Result> {
  const pending = new WeakMap<TransactionSql, PendingRows<Row, Result>>();
  return async (transaction, row) => {
    if (!sharedTransactions.has(transaction)) return (await write(transaction, [row]))[0]!;
    let waiting = pending.get(transaction);
    if (waiting === undefined) {
      const batch: PendingRows<Row, Result> = { rows: [], waiters: [] };
      waiting = batch;
      pending.set(transaction, batch);
      // Two turns: the answers the works wait on before this write may arrive in more than one read.
      afterTwoTurns(() => {
        pending.delete(transaction);
        write(transaction, batch.rows).then(
          (results) => {
            if (results.length !== batch.rows.length) {
              const error = new Error(`a write of ${batch.rows.length} rows answered ${results.length}`);
              for (const waiter of batch.waiters) waiter.reject(error);
              return;
            }
            batch.waiters.forEach((waiter, index) => waiter.resolve(results[index]!));
          },
          (error: unknown) => {
            for (const waiter of batch.waiters) waiter.reject(error);
          },
        );
      });
    }
    const batch = waiting;
    return new Promise<Result>((resolve, reject) => {
      batch.rows.push(row);
      batch.waiters.push({ resolve, reject });
    });
  };
}
