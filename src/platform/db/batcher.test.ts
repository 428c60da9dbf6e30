import assert from 'node:assert/strict';
import test from 'node:test';
import { createBatcher, type BatcherOptions } from './batcher.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A batcher whose statements take `ms` and refuse the item 13 (a batch holding it fails whole). */
function batcherOf(options: Partial<BatcherOptions<number, number>> & { ms?: number }) {
  const log: string[] = [];
  let running = 0;
  let most = 0;
  const timed = async <T>(run: () => T): Promise<T> => {
    running += 1;
    most = Math.max(most, running);
    await sleep(options.ms ?? 5);
    running -= 1;
    return run();
  };
  const batcher = createBatcher<number, number>({
    maxInFlight: 1,
    maxBatch: 3,
    runBatch: (items) =>
      timed(() => {
        log.push(`batch ${items.join(',')}`);
        if (items.includes(13)) throw new Error('one bad row fails the whole statement');
        return items.map((item) => item * 10);
      }),
    runOne: (item) =>
      timed(() => {
        log.push(`one ${item}`);
        if (item === 13) throw new Error('thirteen refused');
        return item * 10;
      }),
    ...options,
  });
  return { batcher, log, most: () => most };
}

test('at low load each item is its own statement at once; no one waits for a batch to fill', async () => {
  const { batcher, log } = batcherOf({ maxInFlight: 2 });
  assert.equal(await batcher.submit(1), 10);
  assert.equal(await batcher.submit(2), 20);
  assert.deepEqual(log, ['one 1', 'one 2']);
  assert.deepEqual(batcher.counts, { statements: 2, items: 2, fallbacks: 0 });
});

test('items that arrive while a statement runs leave together, in order, up to the batch size', async () => {
  const { batcher, log } = batcherOf({ maxInFlight: 1, maxBatch: 3 });
  const answers = await Promise.all([1, 2, 3, 4, 5, 6].map((item) => batcher.submit(item)));
  assert.deepEqual(answers, [10, 20, 30, 40, 50, 60]);
  assert.deepEqual(log, ['one 1', 'batch 2,3,4', 'batch 5,6']);
  assert.deepEqual(batcher.counts, { statements: 3, items: 6, fallbacks: 0 });
});

test('a batch whose statement fails runs each item alone: only the bad item fails', async () => {
  const { batcher, log } = batcherOf({ maxInFlight: 1, maxBatch: 10 });
  const settled = await Promise.allSettled([1, 12, 13, 14].map((item) => batcher.submit(item)));
  assert.deepEqual(
    settled.map((result) =>
      result.status === 'fulfilled' ? result.value : (result.reason as Error).message,
    ),
    [10, 120, 'thirteen refused', 140],
  );
  assert.deepEqual(log.slice(0, 2), ['one 1', 'batch 12,13,14']);
  assert.deepEqual(log.slice(2).sort(), ['one 12', 'one 13', 'one 14']);
  assert.deepEqual(batcher.counts, { statements: 2, items: 4, fallbacks: 1 });
});

test('never more statements in flight than allowed', async () => {
  const { batcher, most } = batcherOf({ maxInFlight: 2, maxBatch: 4, ms: 3 });
  const answers = await Promise.all(Array.from({ length: 40 }, (_, item) => batcher.submit(item + 20)));
  assert.deepEqual(
    answers,
    Array.from({ length: 40 }, (_, item) => (item + 20) * 10),
  );
  assert.equal(most(), 2);
  assert.ok(batcher.counts.statements < 40, `${batcher.counts.statements} statements for 40 items`);
});

test('a batch answering the wrong number of results falls back to one statement per item', async () => {
  const batcher = createBatcher<number, number>({
    maxInFlight: 1,
    maxBatch: 5,
    runBatch: async (items) => items.slice(1),
    runOne: async (item) => {
      await sleep(2);
      return item + 1;
    },
  });
  assert.deepEqual(await Promise.all([1, 2, 3].map((item) => batcher.submit(item))), [2, 3, 4]);
  assert.equal(batcher.counts.fallbacks, 1);
});

test('a batch whose connection is lost may have committed: every item gets that error, none runs again alone', async () => {
  const log: string[] = [];
  const lost = Object.assign(new Error('write CONNECTION_CLOSED'), { code: 'CONNECTION_CLOSED' });
  let release!: () => void;
  const first = new Promise<void>((resolve) => (release = resolve));
  const batcher = createBatcher<number, number>({
    maxInFlight: 1,
    maxBatch: 3,
    runBatch: async (items) => {
      log.push(`batch ${items.join(',')}`);
      throw lost;
    },
    runOne: async (item) => {
      log.push(`one ${item}`);
      if (item === 1) await first;
      return item * 10;
    },
  });
  const alone = batcher.submit(1);
  const queued = [2, 3, 4].map((item) => batcher.submit(item));
  release();
  assert.equal(await alone, 10);
  const settled = await Promise.allSettled(queued);
  assert.deepEqual(
    settled.map((outcome) => outcome.status === 'rejected' && outcome.reason === lost),
    [true, true, true],
  );
  assert.deepEqual(log, ['one 1', 'batch 2,3,4']);
  assert.equal(batcher.counts.fallbacks, 0);
});
