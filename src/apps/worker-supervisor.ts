// `payflow start --workers N`: this process also starts N `payflow start --role worker` child
// processes on the same configuration (one database, one bus), restarts one that dies (after 1 s,
// at most 5 times a minute each), and stops them with itself. Jobs are safe to run in several
// processes (advisory lock for the relay, consumer groups, SKIP LOCKED claims with leases), so the
// workers share the work. The embedded PostgreSQL belongs to one process: --workers needs
// DATABASE_URL.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Logger } from '../platform/log.ts';

export interface WorkerSupervisor {
  readonly pids: () => number[];
  stop(): Promise<void>;
}

const binary = path.resolve(import.meta.dirname, '../../bin/payflow.js');

export function superviseWorkers(count: number, log: Logger): WorkerSupervisor {
  let stopping = false;
  const children: (ChildProcess | undefined)[] = Array.from({ length: count }, () => undefined);
  const restarts: number[][] = Array.from({ length: count }, () => []);

  const launch = (slot: number) => {
    const child = spawn(process.execPath, [binary, 'start', '--role', 'worker'], {
      env: { ...process.env, PAYFLOW_WORKER_SLOT: String(slot) },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    children[slot] = child;
    log.info({ slot, workerPid: child.pid }, 'worker process started');
    child.once('exit', (code, signal) => {
      children[slot] = undefined;
      if (stopping) return;
      const now = Date.now();
      restarts[slot] = restarts[slot]!.filter((at) => now - at < 60_000);
      if (restarts[slot]!.length >= 5) {
        log.error({ slot, code, signal }, 'worker process keeps dying; not restarted');
        return;
      }
      restarts[slot]!.push(now);
      log.error({ slot, code, signal }, 'worker process exited; restarting it in 1 s');
      setTimeout(() => {
        if (!stopping) launch(slot);
      }, 1000).unref();
    });
  };
  for (let slot = 0; slot < count; slot += 1) launch(slot);

  return {
    pids: () => children.flatMap((child) => (child?.pid === undefined ? [] : [child.pid])),
    async stop() {
      stopping = true;
      await Promise.all(
        children.map(async (child) => {
          if (!child || child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGTERM');
          await exited;
        }),
      );
    },
  };
}
