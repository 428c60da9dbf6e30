// The settlement bench (`npm run bench -- --settlement N`, issue 11) at a small N: it prints its
// figures (rows/s, seconds, each job's own peak RSS, the ceilings, the load average) and verifies
// what the jobs did; with one report row left out (the simulator's `missing` fault) the
// verification fails, and so does the bench (exit code 1), so a fast wrong answer cannot pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { adminUrl } from './support/database.ts';
import { repositoryRoot } from './support/server.ts';

function bench(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(repositoryRoot, 'bench/run.ts'), ...args],
      {
        cwd: repositoryRoot,
        env: { ...process.env, TEST_DATABASE_URL: adminUrl(), DATABASE_URL: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('npm run bench -- --settlement 2000 prints rows/s, peak RSS and ceilings, and verifies its results', async () => {
  const run = await bench(['--settlement', '2000']);
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, /N = 2,000 captured payments/);
  assert.match(run.stdout, /load average \d+\.\d/);
  for (const phase of [
    /settlement job \(payflow settlement run\)\s+2,000\s+\d+\.\d\d\s+[\d,]+\s+\d+\s+\d+\s+\d+\.\d/,
    /reconciliation \(payflow reconcile --file\)\s+2,000\s+\d+\.\d\d\s+[\d,]+\s+\d+\s+\d+\s+\d+\.\d/,
    /ceiling: one set-based UPDATE of the items \(rolled back\)\s+2,000\s/,
    /ceiling: COPY of the report \+ one matching join\s+2,000\s/,
  ])
    assert.match(run.stdout, phase);
  assert.match(run.stdout, /verified: 2000 items settled once in 20 batches/);
  assert.match(run.stdout, /reconciliation: 2000 of 2000 rows matched, no other outcome/);
  assert.match(run.stdout, /all results verified/);
  // The memory verdict is each job's own peak, and says how it was measured.
  assert.match(
    run.stdout,
    /reconciliation \(payflow reconcile --file\): peak RSS \d+ MB, (the kernel's high-water mark \(VmHWM\) reset at the phase's start|sampled every 20 ms)/,
  );
});

test('the settlement bench fails when its results do not verify (a report row left out)', async () => {
  const run = await bench(['--settlement', '2000', '--settlement-fault', 'missing']);
  assert.equal(run.code, 1, `${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, /VERIFICATION FAILED/);
  assert.match(run.stdout, /reconciliation: matched 1999, expected 2000/);
  assert.match(run.stdout, /reconciliation: missing_in_report: 1, expected 0/);
  assert.doesNotMatch(run.stdout, /all results verified/);
});
