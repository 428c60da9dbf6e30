import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRetrySchedule, retryDelayAfter } from './retry-schedule.ts';

test('the default schedule spans about three days', () => {
  const schedule = parseRetrySchedule('5s,5m,30m,2h,5h,10h,14h,20h,24h');
  assert.equal(schedule.length, 9);
  const hours = schedule.reduce((sum, delay) => sum + delay, 0) / 3_600_000;
  assert.ok(hours > 70 && hours < 80, `${hours} h`);
});

test('invalid schedules are refused', () => {
  assert.throws(() => parseRetrySchedule(''), /1 to 50/);
  assert.throws(() => parseRetrySchedule('5x'), /invalid delay "5x"/);
  assert.throws(() => parseRetrySchedule('5s,-1m'), /invalid delay/);
});

test('jitter only lengthens a delay by up to 10 %; after the last step there is none', () => {
  const schedule = parseRetrySchedule('100ms,1s');
  assert.equal(retryDelayAfter(schedule, 1, 0), 100);
  assert.equal(retryDelayAfter(schedule, 1, 0.999), 110);
  assert.equal(retryDelayAfter(schedule, 2, 0.5), 1050);
  assert.equal(retryDelayAfter(schedule, 3, 0.5), undefined);
});
