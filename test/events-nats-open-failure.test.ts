// A NATS server that cannot serve the bus (here: one without JetStream) makes opening the transport
// fail after the connection is made. The worker tries again at every tick, so a failed open must
// close its connection: otherwise each tick leaves one more connection (reconnecting forever) behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { loadSettings } from '../src/platform/settings.ts';
import { createLogger } from '../src/platform/log.ts';
import { eventsSettings, openTransport } from '../src/modules/events/index.ts';
import { createTestDatabase } from './support/database.ts';
import { freePort } from '../src/platform/ports.ts';
import { natsServer } from './support/nats.ts';

async function connections(monitorPort: number): Promise<number | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${monitorPort}/connz`);
    return ((await response.json()) as { num_connections: number }).num_connections;
  } catch {
    return undefined;
  }
}

test(
  'opening the NATS transport against a server without JetStream fails and leaves no connection open',
  { skip: natsServer === undefined ? 'nats-server is not installed: this test runs its own' : false },
  async () => {
    const [port, monitorPort] = [await freePort(), await freePort()];
    const child = spawn(natsServer!, ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort)], {
      stdio: 'ignore',
    });
    const database = await createTestDatabase();
    try {
      for (let attempt = 0; (await connections(monitorPort)) === undefined; attempt += 1) {
        assert.ok(attempt < 100, 'nats-server did not start');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const settings = loadSettings(eventsSettings, {
        EVENT_BUS: 'nats',
        NATS_URL: `nats://127.0.0.1:${port}`,
      });
      for (let attempt = 0; attempt < 3; attempt += 1) {
        await assert.rejects(openTransport(settings, database.sql, createLogger({ level: 'silent' })));
      }
      // The server notices a closed connection a moment after the client closed it; a leaked one
      // (reconnecting forever) never goes away.
      let open = await connections(monitorPort);
      for (let waited = 0; open !== 0 && waited < 3000; waited += 100) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        open = await connections(monitorPort);
      }
      assert.equal(open, 0, 'a failed open left its NATS connection open');
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      await database.drop();
    }
  },
);
