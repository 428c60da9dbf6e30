// A node:test reporter beside `spec` (scripts/test.ts adds it): when the runner kills a test file
// that overran its time limit, spec reports only the file's timeout, not which of its tests had
// passed nor the one it was stuck in. This reporter follows every file's tests as they start and end
// and, for a killed file, writes what it saw: the tests that finished (and how), and the tests still
// running at the kill with how long they had run (their output lines were already printed by spec).
// Plain JavaScript: the runner loads reporters before tsx's hooks are registered.

/**
 * @typedef {{ name?: string, nesting?: number, file?: string, line?: number, column?: number,
 *   skip?: unknown, todo?: unknown,
 *   details?: { passed?: boolean, duration_ms?: number,
 *     error?: { failureType?: string, message?: string } } }} EventData
 * @typedef {{ name: string, nesting: number, startedAt: number }} Running
 * @typedef {{ running: Map<string, Running>, finished: string[] }} FileProgress
 */

/** @param {EventData} data a test's place in its file (names may repeat) */
function key(data) {
  return `${data.nesting ?? 0}:${data.line ?? 0}:${data.column ?? 0}:${data.name ?? ''}`;
}

/** @param {number} ms */
function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * The file's own entry (named by its path) failed with a timeout: the runner killed the file.
 * @param {EventData} data
 */
function fileKilled(data) {
  return data.name === data.file && data.details?.error?.failureType === 'testTimeoutFailure';
}

/**
 * @param {string} file
 * @param {FileProgress} progress
 * @param {EventData} data
 */
function report(file, progress, data) {
  const now = Date.now();
  const lines = [
    '',
    `✖ ${file} was killed after ${seconds(data.details?.duration_ms ?? 0)} (${data.details?.error?.message ?? 'timed out'}); until then:`,
  ];
  if (progress.finished.length === 0) lines.push('  no test of the file had finished');
  for (const line of progress.finished) lines.push(`  ${line}`);
  const running = [...progress.running.values()].filter((test) => test.name !== file);
  if (running.length === 0) lines.push('  no test was running (stuck in a hook, or between tests)');
  for (const test of running)
    lines.push(
      `  … still running: ${'  '.repeat(test.nesting)}${test.name} (for ${seconds(now - test.startedAt)})`,
    );
  return `${lines.join('\n')}\n\n`;
}

/** @param {AsyncIterable<{ type: string, data: EventData }>} source */
export default async function* overrunReporter(source) {
  /** @type {Map<string, FileProgress>} */
  const files = new Map();
  /** @param {string} file */
  const progressOf = (file) => {
    let progress = files.get(file);
    if (!progress) {
      progress = { running: new Map(), finished: [] };
      files.set(file, progress);
    }
    return progress;
  };
  for await (const event of source) {
    const data = event.data;
    if (data?.file === undefined || data.name === undefined) continue;
    const progress = progressOf(data.file);
    if (event.type === 'test:dequeue') {
      progress.running.set(key(data), { name: data.name, nesting: data.nesting ?? 0, startedAt: Date.now() });
    } else if (event.type === 'test:complete') {
      progress.running.delete(key(data));
      if (fileKilled(data)) {
        yield report(data.file, progress, data);
        files.delete(data.file);
      } else if (data.name === data.file) {
        files.delete(data.file);
      } else {
        const outcome = data.skip ? '﹣ skipped' : data.todo ? '﹣ todo' : data.details?.passed ? '✔' : '✖';
        progress.finished.push(
          `${outcome} ${'  '.repeat(data.nesting ?? 0)}${data.name} (${seconds(data.details?.duration_ms ?? 0)})`,
        );
      }
    }
  }
}
