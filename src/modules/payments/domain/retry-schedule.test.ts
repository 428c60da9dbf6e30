import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultInquiryScheduleText, nextAttemptAt, parseSchedule } from './retry-schedule.ts';

test("Kill Bill's schedule parses to 5 minutes, 1 hour, then days", () => {
  assert.deepEqual(parseSchedule(defaultInquiryScheduleText), [
    300_000,
    3_600_000,
    ...Array(5).fill(86_400_000),
  ]);
  assert.deepEqual(parseSchedule('500ms, 2s'), [500, 2_000]);
});

test('a bad step is refused with its text', () => {
  for (const bad of ['', '5', '5x', '-1s', '1.5s', 'soon'])
    assert.throws(() => parseSchedule(bad), RangeError, bad);
});

test('the next attempt follows the schedule and ends when it is spent', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  assert.equal(nextAttemptAt([1_000, 60_000], 0, now)?.toISOString(), '2026-01-01T00:00:01.000Z');
  assert.equal(nextAttemptAt([1_000, 60_000], 1, now)?.toISOString(), '2026-01-01T00:01:00.000Z');
  assert.equal(nextAttemptAt([1_000, 60_000], 2, now), null);
});
