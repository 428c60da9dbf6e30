// One way for a test to wait for something that happens in the background (a janitor, a relay, a
// webhook delivery): poll until the probe answers, up to a deadline, then fail saying what was
// awaited and what was last seen. Replaces the hand-rolled loops and sleeps that each needed their
// own race fix.

export interface EventuallyOptions {
  /** Give up after this long (default 40 s: the suite runs on a loaded 2-core box). */
  readonly timeoutMs?: number;
  /** Pause between two probes (default 100 ms). */
  readonly intervalMs?: number;
}

/**
 * Calls `probe` until it returns something other than `undefined`, and returns that. `what` names
 * the awaited state in the failure (a function is called at that moment, to show the last value).
 */
export async function eventually<T>(
  what: string | (() => string),
  probe: () => Promise<T | undefined> | T | undefined,
  options: EventuallyOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 40_000;
  const intervalMs = options.intervalMs ?? 100;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  const description = typeof what === 'function' ? what() : what;
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
}
