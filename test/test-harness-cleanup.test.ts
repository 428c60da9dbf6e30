// The test harness (scripts/test.ts) cleans up after a test that times out: the databases it made
// are dropped and the processes it left running are killed with the run's process group (a
// run-alone file, such as the Kafka fault file with its brokers, has a run of its own); a file killed
// at its time limit is reported with the tests it passed and the one it was stuck in; and a run
// killed before its own cleanup has its databases dropped by the next run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { adminUrl } from './support/database.ts';
import { repositoryRoot } from './support/server.ts';

function withoutTestContext(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  delete copy['NODE_TEST_CONTEXT'];
  return copy;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A killed process stays a zombie until its new parent reaps it: that is not running.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function gone(pid: number): Promise<boolean> {
  for (let attempt = 0; attempt < 50 && alive(pid); attempt += 1)
    await new Promise((resolve) => setTimeout(resolve, 100));
  return !alive(pid);
}

async function databaseExists(name: string): Promise<boolean> {
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => undefined });
  try {
    return (await admin`select 1 from pg_database where datname = ${name}`).length === 1;
  } finally {
    await admin.end();
  }
}

const sharedServer = process.env['TEST_DATABASE_URL']
  ? false
  : 'needs TEST_DATABASE_URL: an inner run cannot start a second embedded PostgreSQL in .payflow-test/';

test(
  'a test that times out leaves no database and no process behind',
  { timeout: 120_000, skip: sharedServer },
  async () => {
    const report = path.join(mkdtempSync(path.join(os.tmpdir(), 'payflow-harness-')), 'report.json');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PAYFLOW_TEST_TIMEOUT_MS: '4000',
      PAYFLOW_FIXTURE_REPORT: report,
    };
    // NODE_TEST_CONTEXT would make the inner runner think it runs inside this test and skip its files.
    for (const name of [
      'PAYFLOW_TEST_ADMIN_URL',
      'PAYFLOW_TEST_TEMPLATE',
      'PAYFLOW_TEST_PREFIX',
      'NODE_TEST_CONTEXT',
    ])
      delete env[name];
    const harness = spawn(
      process.execPath,
      ['--import', 'tsx', 'scripts/test.ts', 'test/fixtures/abandons-resources.ts'],
      { cwd: repositoryRoot, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    harness.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    harness.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => harness.on('exit', resolve));
    assert.notEqual(code, 0, `the fixture's timeout fails the run:\n${output}`);
    const left = JSON.parse(readFileSync(report, 'utf8')) as { database: string; pid: number };
    assert.equal(await gone(left.pid), true, `process ${left.pid} the test started is still running`);
    assert.equal(await databaseExists(left.database), false, `database ${left.database} is still there`);
  },
);

test(
  'a run-alone file killed at its time limit: the harness says which of its tests passed and which one it was stuck in, and kills what it started',
  { timeout: 120_000, skip: sharedServer },
  async () => {
    const report = path.join(mkdtempSync(path.join(os.tmpdir(), 'payflow-harness-')), 'report.json');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PAYFLOW_TEST_TIMEOUT_MS: '6000',
      PAYFLOW_FIXTURE_REPORT: report,
    };
    for (const name of [
      'PAYFLOW_TEST_ADMIN_URL',
      'PAYFLOW_TEST_TEMPLATE',
      'PAYFLOW_TEST_PREFIX',
      'NODE_TEST_CONTEXT',
    ])
      delete env[name];
    const harness = spawn(
      process.execPath,
      ['--import', 'tsx', 'scripts/test.ts', 'test/fixtures/stuck-after-a-pass.ts'],
      { cwd: repositoryRoot, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    harness.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    harness.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => harness.on('exit', resolve));
    assert.notEqual(code, 0, `the fixture's timeout fails the run:\n${output}`);
    const killed = output.slice(output.indexOf('stuck-after-a-pass.ts was killed after'));
    assert.match(killed, /was killed after/, output);
    assert.match(killed, /✔ +the first fault passes/, output);
    assert.match(killed, /still running: +the second fault never ends/, output);
    assert.doesNotMatch(killed, /the third fault never starts/, output);
    const left = JSON.parse(readFileSync(report, 'utf8')) as { pid: number };
    assert.equal(await gone(left.pid), true, `process ${left.pid} the test started is still running`);
  },
);

test(
  'databases of a run killed before its cleanup are dropped by the next run',
  { skip: sharedServer },
  async () => {
    // A pid that is not running: one past the highest pid of a child that has exited.
    const child = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => child.on('exit', resolve));
    const deadPid = child.pid!;
    assert.equal(alive(deadPid), false);
    const name = `payflow_test_${deadPid}_abandoned`;
    const admin = postgres(adminUrl(), { max: 1, onnotice: () => undefined });
    try {
      await admin.unsafe(`create database "${name}"`);
    } finally {
      await admin.end();
    }
    const harness = spawn(
      process.execPath,
      ['--import', 'tsx', 'scripts/test.ts', 'src/platform/money.test.ts'],
      {
        cwd: repositoryRoot,
        env: withoutTestContext(process.env),
        stdio: 'ignore',
      },
    );
    assert.equal(await new Promise((resolve) => harness.on('exit', resolve)), 0);
    assert.equal(await databaseExists(name), false);
  },
);
