// payflow-test: run-alone (scripts/test.ts runs it after the other files, on its own)
// The seeded chaos run (scripts/chaos.ts) for ~40 s on a fresh seed each run; the seed is printed,
// and a failing seed replays with `npm run chaos -- --seconds 40 --seed N`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { randomInt } from 'node:crypto';
import { plan } from '../scripts/chaos.ts';
import { adminUrl } from './support/database.ts';
import { repositoryRoot } from './support/server.ts';

test('the same seed gives the same schedule; another seed another', () => {
  assert.deepEqual(plan(42, 500), plan(42, 500));
  assert.notDeepEqual(plan(42, 500), plan(43, 500));
});

test('a 40 s chaos run on a fresh seed finds no violation', { timeout: 420_000 }, async (t) => {
  const seed = randomInt(0, 2 ** 31);
  t.diagnostic(`chaos seed ${seed}`);
  const result = await new Promise<{ code: number; output: string }>((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(repositoryRoot, 'scripts/chaos.ts'),
        '--seconds',
        '40',
        '--seed',
        String(seed),
      ],
      {
        cwd: repositoryRoot,
        env: { ...process.env, TEST_DATABASE_URL: adminUrl() },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => resolve({ code: code ?? 1, output }));
  });
  t.diagnostic(
    result.output
      .split('\n')
      .filter((line) => line.startsWith('chaos:'))
      .join('\n'),
  );
  assert.equal(result.code, 0, `chaos seed ${seed} failed:\n${result.output.slice(-6000)}`);
});
