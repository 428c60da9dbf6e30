// Background jobs run on a fixed interval in the worker role. A run never overlaps itself; a failing
// run is logged and retried at the next tick; stop() aborts the signal and waits for runs in flight.
import type { Job } from './module.ts';
import type { Logger } from './log.ts';

export interface JobRunner {
  stop(): Promise<void>;
}

export function startJobs(jobs: readonly Job[], log: Logger): JobRunner {
  const controller = new AbortController();
  const running = new Set<Promise<void>>();
  const timers = jobs.map((job) => {
    let busy = false;
    const tick = () => {
      if (busy || controller.signal.aborted) return;
      busy = true;
      const run = job
        .run(controller.signal)
        .catch((error: unknown) => log.error({ err: error, job: job.name }, 'job run failed'))
        .finally(() => {
          busy = false;
          running.delete(run);
        });
      running.add(run);
    };
    const timer = setInterval(tick, job.intervalMs);
    timer.unref();
    setImmediate(tick);
    return timer;
  });
  return {
    async stop() {
      controller.abort();
      for (const timer of timers) clearInterval(timer);
      await Promise.allSettled([...running]);
    },
  };
}
