// The GitHub Actions workflow (.github/workflows/ci.yml) that gives a fork the checks .ci/run gives
// this repository: a real workflow linter (action-validator, GitHub's workflow schema) accepts it and
// refuses a broken copy, and the workflow runs .ci/run with every service .ci/run expects installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { repositoryRoot } from './support/server.ts';

const workflowFile = path.join(repositoryRoot, '.github/workflows/ci.yml');
const validator = path.join(repositoryRoot, 'node_modules/.bin/action-validator');

async function validate(file: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(validator, [file]);
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, output: failure.stdout + failure.stderr };
  }
}

test('action-validator accepts the workflow and refuses a broken copy of it', async () => {
  const accepted = await validate(workflowFile);
  assert.equal(accepted.code, 0, accepted.output);
  const text = readFileSync(workflowFile, 'utf8');
  assert.ok(text.includes('    runs-on: ubuntu-latest'));
  const directory = mkdtempSync(path.join(os.tmpdir(), 'payflow-workflow-'));
  const broken = path.join(directory, 'ci.yml');
  writeFileSync(broken, text.replace('    runs-on: ubuntu-latest', '    runs-onn: ubuntu-latest'));
  const refused = await validate(broken);
  assert.equal(refused.code, 1, refused.output);
  assert.match(refused.output, /runs-onn/);
});

test('the workflow runs .ci/run and installs what .ci/run starts (PostgreSQL, Redis, NATS, Java for Kafka, Prometheus, Chromium)', () => {
  const workflow = readFileSync(workflowFile, 'utf8');
  const ciRun = readFileSync(path.join(repositoryRoot, '.ci/run'), 'utf8');
  assert.match(workflow, /^\s+run: \.ci\/run$/m);
  const needs: [string, string][] = [
    ['pg_ctlcluster', 'postgresql'],
    ['redis-server', 'redis-server'],
    ['nats-server', 'nats-server'],
    ['scripts/kafka.ts start', 'default-jre-headless'],
    ['prometheus', 'prometheus'],
    ['chromium', 'chromium'],
  ];
  for (const [inCiRun, aptPackage] of needs) {
    assert.ok(ciRun.includes(inCiRun), `.ci/run no longer uses ${inCiRun}: update this list`);
    assert.match(
      workflow,
      new RegExp(`apt-get install[^\\n]*(\\\\\\n[^\\n]*)*\\b${aptPackage}\\b`),
      aptPackage,
    );
  }
  assert.match(
    workflow,
    /image: node:20-bookworm/,
    'Node 20 on Debian 12, as package.json and .ci/run expect',
  );
});
