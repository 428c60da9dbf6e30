// `npm run demo` is part of the product: it plays the spec's scenarios and checks each step's answer,
// so running it here keeps it from rotting. It starts its own PayFlow (nothing answers at --url) on
// this file's database.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, test } from 'node:test';
import { createTestDatabase } from './support/database.ts';
import { freePort } from '../src/platform/ports.ts';
import { repositoryRoot, testPoolMax } from './support/server.ts';

const database = await createTestDatabase();
after(() => database.drop());

function runDemo(
  args: string[],
  databaseUrl = database.url,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', ...args], {
      cwd: repositoryRoot,
      env: { ...process.env, DATABASE_URL: databaseUrl, DATABASE_POOL_MAX: testPoolMax, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

test(
  'npm run demo plays the seven scenarios, each as narrated, and exits 0',
  { timeout: 300_000 },
  async () => {
    const { code, output } = await runDemo(['--url', `http://127.0.0.1:${await freePort()}`]);
    assert.equal(code, 0, output);
    for (const scenario of [1, 2, 3, 4, 5, 6, 7]) {
      assert.match(output, new RegExp(`✓ scenario ${scenario} behaved as narrated`), output);
    }
    assert.match(output, /refund_exceeds_captured/);
    assert.match(output, /idempotent-replayed: true/);
    assert.match(output, /"attempts":\[500,200\]/);
    assert.match(output, /"outcome":"completed","summary":\{"cutoff"/);
    assert.match(output, /"amount_mismatch":1,/);
    assert.match(output, /"adjustment":\{"kind":"acquirer_difference","journalId":"adjustment:rcx_\w+"/);
    assert.ok(!output.includes('\u001b['), 'no colour when piped');
  },
);

test('--scenario 6 plays that scenario alone', { timeout: 240_000 }, async () => {
  // Its own database: each started PayFlow generates its own secrets key in its temporary folder.
  const own = await createTestDatabase();
  after(() => own.drop());
  const { code, output } = await runDemo(
    ['--scenario', '6', '--url', `http://127.0.0.1:${await freePort()}`],
    own.url,
  );
  assert.equal(code, 0, output);
  assert.match(output, /✓ scenario 6 behaved as narrated/);
  assert.doesNotMatch(output, /Scenario [1-57]:/);
  assert.match(output, /fraud_blocked/);
});

test('an unknown scenario exits 2 with a one-line reason', async () => {
  const { code, output } = await runDemo(['--scenario', '9']);
  assert.equal(code, 2);
  assert.match(output, /--scenario takes 1 to 7/);
});
