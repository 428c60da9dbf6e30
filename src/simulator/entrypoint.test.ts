// The standalone process: src/apps/simulator.ts started as a child with SIMULATOR_PORT=0, found through
// the JSON log line carrying its url, used over HTTP, and stopped with SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorizeCard } from './test-support.ts';

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
/** tsx compiles on first start, which is slow on a cold cache. */
const startTimeoutMs = 30_000;

function spawnSimulator(environment: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/apps/simulator.ts'], {
    cwd: repositoryRoot,
    env: { ...process.env, ...environment },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Pino writes one JSON object a line; anything else on stdout is kept but not parsed. */
function parseLogLine(line: string): Record<string, unknown> {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** Collects stdout lines and resolves with the url of the first JSON log line that has one. */
function listeningUrl(child: ChildProcess, lines: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    assert.ok(child.stdout);
    const reader = createInterface({ input: child.stdout });
    reader.on('line', (line) => {
      lines.push(line);
      const entry = parseLogLine(line);
      if (typeof entry.url === 'string') resolve(entry.url);
    });
    child.once('exit', (code) => reject(new Error(`simulator exited with ${code} before listening`)));
  });
}

test(
  'the simulator runs as its own process, logs JSON without card numbers and stops on SIGTERM',
  { timeout: startTimeoutMs * 2 },
  async () => {
    const child = spawnSimulator({ SIMULATOR_PORT: '0', SIMULATOR_LOG_LEVEL: 'info' });
    const lines: string[] = [];
    try {
      const url = await listeningUrl(child, lines);
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      const authorization = await authorizeCard(url, '4000000000009995');
      assert.equal(authorization.body.declineCode, 'insufficient_funds');

      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const decided = lines.map(parseLogLine).find((entry) => entry.msg === 'authorization decided');
    assert.equal(decided?.last4, '9995');
    assert.ok(
      !lines.some((line) => line.includes('4000000000009995') || line.includes('"123"')),
      'no card number or CVC in logs',
    );
    assert.ok(lines.some((line) => line.includes('simulator stopped')));
  },
);

test(
  'the simulator process refuses an invalid setting and names it',
  { timeout: startTimeoutMs },
  async () => {
    const child = spawnSimulator({ SIMULATOR_FAILURE_RATE: '2' });
    let errorOutput = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      errorOutput += chunk.toString('utf8');
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 1);
    assert.match(errorOutput, /SIMULATOR_FAILURE_RATE/);
  },
);
