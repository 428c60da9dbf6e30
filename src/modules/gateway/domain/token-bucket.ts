// Token bucket: a bucket holds up to `capacity` tokens and refills continuously, completely in
// `windowMs`. A request takes one token or is refused with the time until one is back. The Redis
// store runs the same arithmetic in Lua (infra/redis-bucket-store.ts); keep the two in step.

export interface BucketLimit {
  readonly capacity: number;
  readonly windowMs: number;
}

export interface BucketState {
  readonly tokens: number;
  readonly updatedAtMs: number;
}

export interface TakeResult {
  readonly allowed: boolean;
  /** Whole tokens left after this request. */
  readonly remaining: number;
  /** Until the next token is available (0 when allowed). */
  readonly retryAfterMs: number;
  /** Until the bucket is full again. */
  readonly resetMs: number;
}

export function refillPerMs(limit: BucketLimit): number {
  return limit.capacity / limit.windowMs;
}

export function takeToken(
  state: BucketState | undefined,
  limit: BucketLimit,
  nowMs: number,
): { state: BucketState; result: TakeResult } {
  const rate = refillPerMs(limit);
  const elapsedMs = state ? Math.max(0, nowMs - state.updatedAtMs) : 0;
  const available = Math.min(limit.capacity, (state?.tokens ?? limit.capacity) + elapsedMs * rate);
  const allowed = available >= 1;
  const tokens = allowed ? available - 1 : available;
  return {
    state: { tokens, updatedAtMs: nowMs },
    result: resultOf(allowed, tokens, limit),
  };
}

export function resultOf(allowed: boolean, tokens: number, limit: BucketLimit): TakeResult {
  const rate = refillPerMs(limit);
  return {
    allowed,
    remaining: Math.floor(tokens),
    retryAfterMs: allowed ? 0 : Math.ceil((1 - tokens) / rate),
    resetMs: Math.ceil((limit.capacity - tokens) / rate),
  };
}
