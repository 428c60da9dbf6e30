import { test } from 'node:test';
import assert from 'node:assert/strict';
import { retryDelayMaxMs, retryDelayMs } from './retry.ts';

test('backoff doubles per failure, with jitter between half and all of the nominal delay', () => {
  assert.equal(retryDelayMs(1, 1000, 0), 500);
  assert.equal(retryDelayMs(1, 1000, 0.999999), 1000);
  assert.equal(retryDelayMs(2, 1000, 0), 1000);
  assert.equal(retryDelayMs(4, 1000, 0.5), 6000);
  for (let attempt = 1; attempt < 60; attempt += 1) {
    const delay = retryDelayMs(attempt, 1000, 0.7);
    assert.ok(delay <= retryDelayMaxMs && delay >= Math.min(retryDelayMaxMs, 1000 * 2 ** (attempt - 1)) / 2);
  }
  assert.equal(retryDelayMs(3, 0, 0.3), 0);
  assert.throws(() => retryDelayMs(0, 1000, 0.5));
});
