// When the janitor asks the acquirer again about an unknown outcome. Kill Bill's schedule for UNKNOWN
// payments is 5m, 1h, 1d, 1d, 1d, 1d, 1d; after the last step the payment waits for manual review.

const unitMs = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export const defaultInquiryScheduleText = '5m,1h,1d,1d,1d,1d,1d';

/** Parses "5m,1h,1d" (units ms, s, m, h, d); throws a RangeError naming the bad step. */
export function parseSchedule(text: string): readonly number[] {
  const steps = text.split(',').map((step) => step.trim());
  if (steps.length === 0 || steps.length > 50) throw new RangeError('a schedule has 1 to 50 steps');
  return steps.map((step) => {
    const match = /^(\d{1,9})(ms|s|m|h|d)$/.exec(step);
    if (!match) throw new RangeError(`schedule step "${step}" is not a duration such as 500ms, 5m or 1d`);
    return Number(match[1]) * unitMs[match[2] as keyof typeof unitMs];
  });
}

/** The time of the next inquiry after `attempts` inquiries, or null once the schedule is spent. */
export function nextAttemptAt(schedule: readonly number[], attempts: number, now: Date): Date | null {
  const delayMs = schedule[attempts];
  return delayMs === undefined ? null : new Date(now.getTime() + delayMs);
}
