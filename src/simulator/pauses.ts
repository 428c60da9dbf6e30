// Every deliberate delay in the simulator (latency, slow cards, refund failures, notification
// backoff) goes through one Pauses so that closing the simulator ends them all at once instead of
// holding the process open for up to `slowResponseMs`.
import { setTimeout as sleep } from 'node:timers/promises';

export class SimulatorStoppedError extends Error {
  constructor() {
    super('the simulator is stopping');
    this.name = 'SimulatorStoppedError';
  }
}

export class Pauses {
  private readonly controller = new AbortController();

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Resolves after `durationMs`; rejects with SimulatorStoppedError if the simulator stops first. */
  async wait(durationMs: number): Promise<void> {
    if (this.controller.signal.aborted) throw new SimulatorStoppedError();
    if (durationMs <= 0) return;
    try {
      await sleep(durationMs, undefined, { signal: this.controller.signal });
    } catch (error) {
      if (this.controller.signal.aborted) throw new SimulatorStoppedError();
      throw error;
    }
  }

  /** Runs `task` after `durationMs` unless the simulator stops first. */
  later(durationMs: number, task: () => void | Promise<void>): void {
    this.wait(durationMs).then(task, (error: unknown) => {
      if (!(error instanceof SimulatorStoppedError)) throw error;
    });
  }

  stop(): void {
    this.controller.abort();
  }
}
