// Where rate-limit buckets live: in this process (default) or in Redis (shared by processes).
import { takeToken, type BucketLimit, type BucketState, type TakeResult } from '../domain/token-bucket.ts';

export interface BucketStore {
  take(key: string, limit: BucketLimit): Promise<TakeResult>;
  close(): Promise<void>;
}

/** Buckets kept past this count are swept (full ones forgotten) so memory stays bounded. */
export const memoryBucketsMax = 100_000;

export function createMemoryBucketStore(now: () => number = Date.now): BucketStore {
  const buckets = new Map<string, { state: BucketState; limit: BucketLimit }>();
  const sweep = (nowMs: number) => {
    for (const [key, bucket] of buckets) {
      const full =
        bucket.state.tokens +
        (nowMs - bucket.state.updatedAtMs) * (bucket.limit.capacity / bucket.limit.windowMs);
      if (full >= bucket.limit.capacity) buckets.delete(key);
    }
    // Still too many (a flood of distinct keys): forget the oldest; they restart full.
    for (const key of buckets.keys()) {
      if (buckets.size <= memoryBucketsMax) break;
      buckets.delete(key);
    }
  };
  return {
    async take(key, limit) {
      const nowMs = now();
      const taken = takeToken(buckets.get(key)?.state, limit, nowMs);
      buckets.delete(key); // re-insert: Map order becomes least recently used first
      buckets.set(key, { state: taken.state, limit });
      if (buckets.size > memoryBucketsMax) sweep(nowMs);
      return taken.result;
    },
    async close() {
      buckets.clear();
    },
  };
}
