// Batching across requests (ADR 18's third step): concurrent callers' writes of one shape go to the
// database as one statement (one round trip, one commit for many rows) instead of one each.
//
// No caller waits for a batch to fill: an item goes out at once while fewer than `maxInFlight`
// statements are running; the items that arrive meanwhile queue and leave together as the next
// statement when one returns. At low load every item is its own statement (no added latency); under
// load, batches grow with the queue.
//
// One caller's bad item must not fail the others: when a batch's statement fails, each of its items
// is run again alone (`runOne`), so each caller gets its own answer or its own error. A batch
// statement must therefore be all-or-nothing (one statement is), and running an item alone after
// its batch failed must be safe (the batch wrote nothing).

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
    } catch {
      // Whose item failed the statement is not known: each runs alone and gets its own answer.
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
