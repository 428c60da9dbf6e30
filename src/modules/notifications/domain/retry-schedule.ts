// The webhook retry schedule: a list of delays such as `5s,5m,30m,2h`, one per retry after the first
// attempt. Jitter only lengthens a delay (up to 10 %), so retries never come earlier than listed.
const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseRetrySchedule(text: string): readonly number[] {
  const steps = text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (steps.length === 0 || steps.length > 50) throw new Error('WEBHOOK_RETRY_SCHEDULE needs 1 to 50 delays');
  return steps.map((step) => {
    const match = /^(\d{1,9})(ms|s|m|h|d)$/.exec(step);
    if (!match) throw new Error(`WEBHOOK_RETRY_SCHEDULE has an invalid delay "${step}" (e.g. 5s, 30m, 2h)`);
    return Number(match[1]) * units[match[2]!]!;
  });
}

/**
 * The delay before the next attempt after `failedAttempts` failures, or undefined when the schedule
 * is exhausted (the delivery has failed for good).
 */
export function retryDelayAfter(
  schedule: readonly number[],
  failedAttempts: number,
  random: number,
): number | undefined {
  const base = schedule[failedAttempts - 1];
  if (base === undefined) return undefined;
  return Math.round(base * (1 + 0.1 * random));
}
