// The screening's cache of a merchant's rules and lists (loadRuleset) against real PostgreSQL: a
// change made by another process is seen within FRAUD_RULES_CACHE_MS, without a screening ever
// waiting for a reload while traffic flows (refresh ahead); concurrent cold loads share one read;
// a change in this process applies at once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database.ts';
import { eventually } from '../../../../test/support/eventually.ts';
import { capturingLogger } from '../../../../test/support/log.ts';
import { systemClock } from '../../../platform/clock.ts';
import { invalidateRuleset, loadRuleset, type FraudDependencies } from './screen-payment.ts';

let database: TestDatabase;
before(async () => {
  database = await createTestDatabase();
});
after(async () => database.drop());

const cacheMs = 2_000;

function dependencies(): FraudDependencies {
  return {
    sql: database.sql,
    clock: systemClock,
    log: capturingLogger().log,
    velocity: undefined as never,
    builtins: [],
    usdRates: new Map(),
    rulesCacheMs: cacheMs,
    metrics: { velocityUnavailable: () => undefined, decision: () => undefined, part: () => undefined },
  };
}

/** What another process does: a list entry written straight to the database. */
async function blockEmail(merchantId: string, email: string): Promise<void> {
  await database.sql`
    insert into fraud.list_items (merchant_id, list_name, value, created_at)
    values (${merchantId}, 'blocked_emails', ${email}, now())`;
}

const blocked = async (deps: FraudDependencies, merchantId: string) => [
  ...((await loadRuleset(deps, merchantId)).lists.get('blocked_emails') ?? []),
];

test("another process's change is seen within the cache time, and no screening waits for the reload", async () => {
  const deps = dependencies();
  const merchantId = `m_${randomUUID()}`;
  const first = await loadRuleset(deps, merchantId);
  await blockEmail(merchantId, 'a@example.com');
  assert.equal(await loadRuleset(deps, merchantId), first, 'fresh: served from the cache');
  await sleep(cacheMs / 2 + 50);
  // Past half the cache time: the cached ruleset is served at once and a reload starts behind it.
  assert.equal(await loadRuleset(deps, merchantId), first);
  const seen = await eventually(
    'the reloaded ruleset',
    async () => {
      const emails = await blocked(deps, merchantId);
      return emails.length > 0 ? emails : undefined;
    },
    { timeoutMs: cacheMs },
  );
  assert.deepEqual(seen, ['a@example.com']);
});

test('without traffic, a ruleset older than the cache time is reloaded before use', async () => {
  const deps = dependencies();
  const merchantId = `m_${randomUUID()}`;
  assert.deepEqual(await blocked(deps, merchantId), []);
  await blockEmail(merchantId, 'b@example.com');
  await sleep(cacheMs + 50);
  assert.deepEqual(await blocked(deps, merchantId), ['b@example.com']);
});

test('concurrent screenings of a cold merchant share one load; a change in this process applies at once', async () => {
  const deps = dependencies();
  const merchantId = `m_${randomUUID()}`;
  const loads = await Promise.all(Array.from({ length: 5 }, () => loadRuleset(deps, merchantId)));
  assert.ok(loads.every((ruleset) => ruleset === loads[0]));
  await blockEmail(merchantId, 'c@example.com');
  invalidateRuleset(merchantId);
  assert.deepEqual(await blocked(deps, merchantId), ['c@example.com']);
});
