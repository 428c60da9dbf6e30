// The real `payflow` process: start, health, OpenAPI, clean stop, and the one-line failures.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { runCli, spawnServer, temporaryDataDir } from './support/server.ts';

const databases: TestDatabase[] = [];
after(async () => {
  for (const database of databases) await database.drop();
});

async function database(): Promise<TestDatabase> {
  const created = await createTestDatabase();
  databases.push(created);
  return created;
}

test('payflow start serves health, readiness, OpenAPI 3.1 and docs, and stops cleanly on SIGTERM', async () => {
  const { url } = await database();
  const server = await spawnServer({ DATABASE_URL: url });
  try {
    assert.equal((await fetch(`${server.baseUrl}/healthz`)).status, 200);
    const ready = await fetch(`${server.baseUrl}/readyz`);
    assert.equal(ready.status, 200);
    const openapi = (await (await fetch(`${server.baseUrl}/openapi.json`)).json()) as {
      openapi: string;
      paths: object;
    };
    assert.equal(openapi.openapi, '3.1.0');
    assert.ok('/healthz' in openapi.paths);
    const docs = await fetch(`${server.baseUrl}/docs`);
    assert.equal(docs.status, 200);
    assert.match(await docs.text(), /<html/i);
  } finally {
    assert.equal(await server.stop('SIGTERM'), 0);
  }
  assert.ok(server.output.some((line) => line.includes('"msg":"stopped"')));
});

test('help lists the commands', async () => {
  const result = await runCli(['--help']);
  assert.equal(result.code, 0);
  for (const command of ['start', 'migrate']) assert.match(result.stdout, new RegExp(`payflow ${command}`));
});

test('invalid configuration stops with one line naming the variable', async () => {
  const result = await runCli(['start'], { PORT: 'eighty' });
  assert.equal(result.code, 1);
  assert.equal(result.stderr.trim().split('\n').length, 1);
  assert.match(result.stderr, /PORT/);
});

test('several invalid variables stop with one line each, no stack trace', async () => {
  const result = await runCli(['start'], { PORT: 'eighty', EVENTS_MAX_ATTEMPTS: '0' });
  assert.equal(result.code, 1);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 2, result.stderr);
  assert.match(lines[0]!, /^payflow: invalid configuration: PORT /);
  assert.match(lines[1]!, /^payflow: invalid configuration: EVENTS_MAX_ATTEMPTS /);
});

test('an unreachable DATABASE_URL stops with one line', async () => {
  const result = await runCli(['start'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none', PORT: '0' });
  assert.equal(result.code, 1);
  assert.equal(result.stderr.trim().split('\n').length, 1);
  assert.match(result.stderr, /cannot reach the database/);
});

test('a port already in use stops with one line', async () => {
  const { url } = await database();
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const result = await runCli(['start'], { DATABASE_URL: url, PORT: String(port) });
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`port ${port} .*already in use`));
    assert.equal(result.stderr.trim().split('\n').length, 1);
  } finally {
    blocker.close();
  }
});

test('a busy SIMULATOR_PORT stops with one line before anything is created', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  const dataDir = path.join(temporaryDataDir(), 'fresh');
  try {
    // No DATABASE_URL: an embedded database would be created under dataDir; the check comes first.
    const env = { ...process.env } as Record<string, string>;
    delete env.DATABASE_URL;
    const result = await runCli(['start'], {
      ...env,
      PAYFLOW_DATA_DIR: dataDir,
      PORT: '0',
      SIMULATOR_PORT: String(port),
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`SIMULATOR_PORT ${port} is already in use`));
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.equal(existsSync(dataDir), false, 'no data directory, database or demo secret was created');
  } finally {
    blocker.close();
  }
});

test('payflow migrate applies migrations and reports that it is up to date', async () => {
  const { url } = await database();
  const result = await runCli(['migrate'], { DATABASE_URL: url });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /migrations: up to date|migrations applied/);
});

test('an unknown command exits 2 and points at --help', async () => {
  const result = await runCli(['frobnicate']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--help/);
});
