// Background jobs run on a fixed interval in the worker role. A run never overlaps itself; a failing
// run is logged and retried at the next tick; stop() aborts the signal and waits for runs in flight.
import { Counter, Gauge } from 'prom-client';
import type { Job } from './module.ts';
import type { Logger } from './log.ts';
import type { MetricsRegistry } from './metrics.ts';

export interface JobRunner {
  stop(): Promise<void>;
}

/** Job progress for Prometheus: runs by outcome, and when each job last finished a run without error. */
function jobMetrics(registry: MetricsRegistry | undefined) {
  if (!registry) return undefined;
  return {
    runs: new Counter({
      name: 'payflow_job_runs_total',
      help: 'Background job runs in this process, by job and outcome (ok or failed).',
      labelNames: ['job_name', 'outcome'],
      registers: [registry],
    }),
    lastSuccess: new Gauge({
      name: 'payflow_job_last_success_timestamp_seconds',
      help: 'Unix time at which the job last finished a run without error in this process.',
      labelNames: ['job_name'],
      registers: [registry],
    }),
  };
}

export function startJobs(jobs: readonly Job[], log: Logger, registry?: MetricsRegistry): JobRunner {
  const metrics = jobMetrics(registry);
  const controller = new AbortController();
  const running = new Set<Promise<void>>();
  const timers = jobs.map((job) => {
    let busy = false;
    const tick = () => {
      if (busy || controller.signal.aborted) return;
      busy = true;
      const run = job
        .run(controller.signal)
        .then(() => {
          metrics?.runs.inc({ job_name: job.name, outcome: 'ok' });
          metrics?.lastSuccess.set({ job_name: job.name }, Date.now() / 1000);
        })
        .catch((error: unknown) => {
          metrics?.runs.inc({ job_name: job.name, outcome: 'failed' });
          log.error({ err: error, job: job.name }, 'job run failed');
        })
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
