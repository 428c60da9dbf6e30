import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { createEmptyDatabase } from '../../../test/support/database.ts';
import { withAdvisoryLock } from './advisory-lock.ts';

const database = await createEmptyDatabase();
after(() => database.drop());

test('one job at a time per lock: a second caller is told at once, and the lock is free again after a throw', async () => {
  const key = randomInt(1, 2 ** 40);
  let release!: () => void;
  const holding = new Promise<void>((resolve) => (release = resolve));
  const first = withAdvisoryLock(database.sql, key, async () => {
    await holding;
    return 'first';
  });
  // The first job holds the lock until released: a second one (another session) does not run.
  for (;;) {
    const [row] = await database.sql<{ held: boolean }[]>`
      select exists (select 1 from pg_locks where locktype = 'advisory' and granted
        and ((classid::bigint << 32) | objid::bigint) = ${key}) as held`;
    if (row!.held) break;
  }
  let ran = false;
  assert.deepEqual(
    await withAdvisoryLock(database.sql, key, async () => {
      ran = true;
    }),
    { ran: false },
  );
  assert.equal(ran, false);
  release();
  assert.deepEqual(await first, { ran: true, value: 'first' });

  await assert.rejects(
    withAdvisoryLock(database.sql, key, async () => {
      throw new Error('the job failed');
    }),
    /the job failed/,
  );
  assert.deepEqual(await withAdvisoryLock(database.sql, key, async () => 'after'), {
    ran: true,
    value: 'after',
  });
});

test('a named lock is one lock per name', async () => {
  const name = `test-lock-${randomInt(1, 2 ** 40)}`;
  const outcome = await withAdvisoryLock(database.sql, { name }, async () =>
    withAdvisoryLock(database.sql, { name }, async () => 'nested'),
  );
  assert.deepEqual(outcome, { ran: true, value: { ran: false } });
  const other = await withAdvisoryLock(database.sql, { name }, async () =>
    withAdvisoryLock(database.sql, { name: `${name}-other` }, async () => 'other'),
  );
  assert.deepEqual(other, { ran: true, value: { ran: true, value: 'other' } });
});
