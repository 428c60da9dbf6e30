import { test } from 'node:test';
import assert from 'node:assert/strict';
import { takeToken, type BucketState } from './token-bucket.ts';

const limit = { capacity: 3, windowMs: 3000 }; // one token per second

test('a full bucket allows `capacity` requests at once, then refuses with the wait for one token', () => {
  let state: BucketState | undefined;
  const results = [];
  for (let index = 0; index < 4; index += 1) {
    const taken = takeToken(state, limit, 10_000);
    state = taken.state;
    results.push(taken.result);
  }
  assert.deepEqual(
    results.map((result) => [result.allowed, result.remaining]),
    [
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
    ],
  );
  assert.equal(results[3]!.retryAfterMs, 1000);
  assert.equal(results[3]!.resetMs, 3000);
});

test('tokens come back with time, never beyond capacity', () => {
  let state: BucketState = { tokens: 0, updatedAtMs: 0 };
  const half = takeToken(state, limit, 500);
  assert.equal(half.result.allowed, false);
  assert.equal(half.result.retryAfterMs, 500);
  state = half.state;
  const one = takeToken(state, limit, 1000);
  assert.equal(one.result.allowed, true);
  const later = takeToken(one.state, limit, 1_000_000);
  assert.equal(later.result.remaining, 2);
});

test('a clock that goes backwards does not mint tokens', () => {
  const empty: BucketState = { tokens: 0, updatedAtMs: 5000 };
  assert.equal(takeToken(empty, limit, 1000).result.allowed, false);
});
