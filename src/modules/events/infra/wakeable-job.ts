// A background job that also runs at once when a PostgreSQL notification arrives (LISTEN), with its
// interval as the polling fallback. Runs never overlap: a wake-up during a run schedules one more run.
import type { Sql } from '../../../platform/db/client.ts';
import type { Job } from '../../../platform/module.ts';
import type { Logger } from '../../../platform/log.ts';

export interface WakeableJob {
  readonly job: Job;
  close(): Promise<void>;
}

export function wakeableJob(options: {
  readonly name: string;
  readonly intervalMs: number;
  readonly channel: string;
  readonly sql: Sql;
  readonly log: Logger;
  readonly work: (signal: AbortSignal) => Promise<void>;
}): WakeableJob {
  let running: Promise<void> | undefined;
  let again = false;
  let signal: AbortSignal | undefined;
  let listening: Promise<{ unlisten(): Promise<void> }> | undefined;

  const runOnce = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          if (signal?.aborted) return;
          await options.work(signal ?? new AbortController().signal);
        } while (again);
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  const job: Job = {
    name: options.name,
    intervalMs: options.intervalMs,
    async run(jobSignal) {
      signal = jobSignal;
      // Listen only where jobs run (the worker role), before the first run: a notification that
      // arrives after LISTEN wakes a run, and what committed before it is found by this first run.
      listening ??= options.sql.listen(options.channel, () => {
        if (signal?.aborted) return;
        runOnce().catch((error: unknown) =>
          options.log.error({ err: error, job: options.name }, 'job run failed'),
        );
      });
      try {
        await listening;
      } catch (error) {
        listening = undefined; // retried at the next tick; polling goes on meanwhile
        options.log.warn({ err: error, job: options.name }, 'LISTEN failed; polling only');
      }
      await runOnce();
    },
  };
  return {
    job,
    async close() {
      const listener = await listening?.catch(() => undefined);
      await listener?.unlisten().catch(() => undefined);
      await running?.catch(() => undefined);
    },
  };
}
