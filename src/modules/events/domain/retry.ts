// Retry timing for consumers: exponential backoff with jitter (half fixed, half random, so retries of
// many events spread out yet never come sooner than half the nominal delay). Pure: the caller passes
// the random number.
import assert from 'node:assert/strict';

/** No retry waits longer than this, whatever the attempt number. */
export const retryDelayMaxMs = 15 * 60 * 1000;

/** Delay before attempt `failedAttempts + 1`, after `failedAttempts` failures (≥ 1). */
export function retryDelayMs(failedAttempts: number, baseMs: number, random: number): number {
  assert.ok(Number.isInteger(failedAttempts) && failedAttempts >= 1, 'failedAttempts counts from 1');
  assert.ok(baseMs >= 0 && random >= 0 && random < 1);
  const nominal = Math.min(retryDelayMaxMs, baseMs * 2 ** Math.min(failedAttempts - 1, 30));
  return Math.round(nominal / 2 + (nominal / 2) * random);
}
