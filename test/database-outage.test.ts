// PostgreSQL goes away under load and comes back (ADR 25). A TCP proxy between a `payflow start`
// process and the database resets every connection, several times briefly and then for longer:
// the process stays up, answers 503 `database_unavailable` (problem+json, Retry-After) and a
// bounded /readyz while the database is gone, never a 500, and serves payments again within
// seconds once it is back; the ledger still verifies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createTestDatabase } from './support/database.ts';
import { createClientWith } from '../src/modules/identity/index.ts';
import { systemClock } from '../src/platform/clock.ts';
import { createMerchantCredentials, fetchToken, merchantSessionAt } from './support/identity.ts';
import {
  assertLedgerVerifies,
  authorizeBody,
  call,
  paymentsEnv,
  startTestAcquirer,
  tokenize,
} from './support/payments.ts';
import { spawnServer } from './support/server.ts';
import { behindProxy } from './support/tcp-proxy.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

/** Rejects if `work` has not settled within `ms`: a request PayFlow never answers is a failure. */
async function within<T>(ms: number, label: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
  }
}

test(
  'the database cut under load, briefly and for longer: 503s, no crash, no 500, recovery in seconds',
  { timeout: 150_000 },
  async (t) => {
    const database = await createTestDatabase();
    const { proxy, url: proxiedUrl } = await behindProxy(database.url);
    const acquirer = await startTestAcquirer();
    const server = await spawnServer(
      paymentsEnv(acquirer.url, {
        DATABASE_URL: proxiedUrl,
        DATABASE_POOL_MAX: '8',
      }),
    );
    try {
      const merchant = await merchantSessionAt(server.baseUrl, await createMerchantCredentials(database.sql));
      const statuses = new Map<number, number>();
      const unexpected: string[] = [];
      let running = true;
      const load = Array.from({ length: 12 }, async () => {
        while (running) {
          try {
            // A tokenize refused while the database is away is expected; one never answered is not.
            const token = await within(15_000, 'tokenize', tokenize(server.baseUrl, merchant)).catch(
              (error: Error) => (error.message.includes('no answer') ? Promise.reject(error) : undefined),
            );
            if (token === undefined) {
              await sleep(50);
              continue;
            }
            const answer = await within(
              15_000,
              'authorize',
              call(server.baseUrl, merchant, 'POST', '/payments/authorize', authorizeBody(token)),
            );
            statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
            if (![201, 202, 503].includes(answer.status)) unexpected.push(`${answer.status} ${answer.text}`);
            if (answer.status === 503) assert.equal(answer.body['code'], 'database_unavailable', answer.text);
          } catch (error) {
            unexpected.push(String(error));
            await sleep(50);
          }
        }
      });
      await sleep(1_000);
      for (let cut = 0; cut < 5; cut += 1) {
        await proxy.cut();
        await sleep(200 + cut * 100);
        await proxy.restore();
        await sleep(1_000);
      }
      await proxy.cut();
      await sleep(300);
      assert.equal(server.child.exitCode, null, 'the process is still running');
      const ready = await timed(() => fetch(`${server.baseUrl}/readyz`));
      assert.equal(ready.value.status, 503);
      assert.ok(ready.ms < 2_500, `/readyz answered in ${Math.round(ready.ms)} ms`);
      const listed = await timed(() => call(server.baseUrl, merchant, 'GET', '/payments?limit=1'));
      assert.equal(listed.value.status, 503, listed.value.text);
      assert.equal(listed.value.body['code'], 'database_unavailable');
      assert.match(listed.value.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.equal(listed.value.headers.get('retry-after'), '1');
      assert.ok(listed.ms < 5_000, `GET /payments answered in ${Math.round(listed.ms)} ms`);
      assert.doesNotMatch(listed.value.text, /at .*\.ts:\d+|stack/i);
      await sleep(2_000);
      await proxy.restore();
      const back = performance.now();
      let recovered = false;
      while (performance.now() - back < 20_000) {
        const token = await tokenize(server.baseUrl, merchant).catch(() => undefined);
        if (token !== undefined) {
          const answer = await call(
            server.baseUrl,
            merchant,
            'POST',
            '/payments/authorize',
            authorizeBody(token),
            randomUUID(),
          );
          if (answer.status === 201) {
            recovered = true;
            break;
          }
        }
        await sleep(200);
      }
      assert.ok(recovered, 'no authorization succeeded within 20 s of the database coming back');
      t.diagnostic(`recovered ${Math.round(performance.now() - back)} ms after the database came back`);
      running = false;
      await Promise.all(load);

      t.diagnostic(`answers: ${JSON.stringify(Object.fromEntries(statuses))}`);
      assert.deepEqual(unexpected, [], 'an answer other than 201, 202 or 503');
      assert.ok((statuses.get(201) ?? 0) > 0);
      assert.equal(server.child.exitCode, null, 'the process is still running');
      const output = server.output.join('\n');
      assert.doesNotMatch(output, /TypeError|uncaught|unhandled/i);
    } finally {
      await server.stop();
      await acquirer.close();
      await proxy.close();
    }
    await assertLedgerVerifies(database.url);
    await database.drop();
  },
);

test('revocations cannot be refreshed past REVOCATION_STALE_MAX_MS: tokens get 503, never accepted on an old list; fine again once back', async () => {
  const database = await createTestDatabase();
  const { proxy, url: proxiedUrl } = await behindProxy(database.url);
  const acquirer = await startTestAcquirer();
  const server = await spawnServer(
    paymentsEnv(acquirer.url, { DATABASE_URL: proxiedUrl, REVOCATION_STALE_MAX_MS: '2000' }),
  );
  try {
    const merchant = await merchantSessionAt(server.baseUrl, await createMerchantCredentials(database.sql));
    const whoami = () =>
      fetch(`${server.baseUrl}/v1/identity/whoami`, {
        headers: { authorization: `Bearer ${merchant.token}` },
      });
    assert.equal((await whoami()).status, 200);

    await proxy.cut();
    // whoami needs no query of its own: only the age of the revocation list decides.
    const deadline = performance.now() + 8_000;
    let refused: Response | undefined;
    while (performance.now() < deadline) {
      const answer = await whoami();
      if (answer.status !== 200) {
        refused = answer;
        break;
      }
      await answer.arrayBuffer();
      await sleep(100);
    }
    assert.ok(refused, 'the token was still accepted 8 s after the revocation list stopped refreshing');
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '1');
    const body = (await refused.json()) as { code?: string };
    assert.equal(body.code, 'revocations_unavailable');

    await proxy.restore();
    const back = performance.now();
    let accepted = false;
    while (performance.now() - back < 10_000) {
      const answer = await whoami();
      await answer.arrayBuffer();
      if (answer.status === 200) {
        accepted = true;
        break;
      }
      await sleep(100);
    }
    assert.ok(accepted, 'the token is accepted again once the list refreshes');
    const admin = await createClientWith({ sql: database.sql, clock: systemClock }, { role: 'admin' });
    const adminToken = await fetchToken(server.baseUrl, admin.clientId, admin.clientSecret);
    const metrics = await fetch(`${server.baseUrl}/metrics`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    assert.match(await metrics.text(), /payflow_identity_stale_revocation_refusals_total [1-9]/);
  } finally {
    await server.stop();
    await acquirer.close();
    await proxy.close();
  }
  await database.drop();
});
