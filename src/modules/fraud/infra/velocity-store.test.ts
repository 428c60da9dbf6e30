// The two velocity stores against real PostgreSQL and (when REDIS_URL is set) real Redis: the same
// answers for the same attempts, attempts on one card counted 1..n under concurrency, re-screening a
// payment adds nothing, windows slide, and the PostgreSQL store's first call on a fresh pool works.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database.ts';
import { createSql } from '../../../platform/db/client.ts';
import type { Velocity } from '../domain/screening.ts';
import {
  postgresVelocityStore,
  redisVelocityStore,
  type VelocityQuery,
  type VelocityStore,
} from './velocity-store.ts';

const redisUrl = process.env.REDIS_URL;
let database: TestDatabase;
let onPostgres: VelocityStore;
let onRedis: VelocityStore | undefined;

before(async () => {
  database = await createTestDatabase();
  onPostgres = postgresVelocityStore(database.sql);
  if (redisUrl) onRedis = redisVelocityStore(redisUrl, `payflow-test-${randomUUID()}:`, 2_000);
});
after(async () => {
  await onRedis?.close();
  await database.drop();
});

const start = new Date('2026-06-01T12:00:00Z');
const minutes = (n: number) => new Date(start.getTime() + n * 60_000);

function attempt(
  merchantId: string,
  paymentId: string,
  at: Date,
  more: Partial<VelocityQuery> = {},
): VelocityQuery {
  return {
    merchantId,
    paymentId,
    at,
    amountUsdMinor: 1_000,
    cardFingerprint: 'fp_card_a',
    email: 'Ada@Example.com',
    ipAddress: '203.0.113.7',
    ...more,
  };
}

/** A script of attempts and outcomes over 26 hours: two cards, one IP, one email, a re-screen. */
async function script(store: VelocityStore, merchantId: string): Promise<Velocity[]> {
  const answers: Velocity[] = [];
  answers.push(await store.record(attempt(merchantId, 'pay_1', minutes(0))));
  answers.push(await store.record(attempt(merchantId, 'pay_2', minutes(0.5), { amountUsdMinor: 2_500 })));
  answers.push(await store.record(attempt(merchantId, 'pay_2', minutes(0.6), { amountUsdMinor: 2_500 })));
  await store.recordOutcome('declines', merchantId, 'fp_card_a', 'pay_2', minutes(0.7));
  answers.push(
    await store.record(
      attempt(merchantId, 'pay_3', minutes(2), { cardFingerprint: 'fp_card_b', amountUsdMinor: 7 }),
    ),
  );
  await store.recordOutcome('refunds', merchantId, 'fp_card_a', 'ref_1', minutes(3));
  answers.push(await store.record(attempt(merchantId, 'pay_4', minutes(90), { email: undefined })));
  answers.push(await store.record(attempt(merchantId, 'pay_5', minutes(25 * 60), { ipAddress: undefined })));
  answers.push(
    await store.record(
      attempt(merchantId, 'pay_6', minutes(26 * 60), { cardFingerprint: undefined, email: undefined }),
    ),
  );
  return answers;
}

test('the PostgreSQL store counts attempts, amounts, distinct cards, outcomes and first use in sliding windows', async () => {
  const answers = await script(onPostgres, `mer_${randomUUID().replaceAll('-', '').slice(0, 24)}`);
  const [first, second, rescreen, otherCard, laterCard, nextDay, noCard] = answers as [
    Velocity,
    Velocity,
    Velocity,
    Velocity,
    Velocity,
    Velocity,
    Velocity,
  ];
  assert.deepEqual(first.card, {
    count: { '1m': 1, '1h': 1, '24h': 1 },
    sum: { '1m': 1_000, '1h': 1_000, '24h': 1_000 },
  });
  assert.equal(first.firstSeenCard, true);
  assert.deepEqual(first.ipDistinctCards, { '1m': 1, '1h': 1, '24h': 1 });
  assert.deepEqual(second.card?.count, { '1m': 2, '1h': 2, '24h': 2 });
  assert.deepEqual(second.card?.sum, { '1m': 3_500, '1h': 3_500, '24h': 3_500 });
  assert.equal(second.firstSeenCard, false);
  assert.deepEqual(rescreen, second, 're-screening a payment adds nothing');
  assert.deepEqual(otherCard.ip?.count, { '1m': 1, '1h': 3, '24h': 3 });
  assert.deepEqual(otherCard.ipDistinctCards, { '1m': 1, '1h': 2, '24h': 2 });
  assert.deepEqual(otherCard.cardDeclines, { '1m': 0, '1h': 0, '24h': 0 });
  assert.equal(otherCard.firstSeenCard, true);
  assert.deepEqual(laterCard.card?.count, { '1m': 1, '1h': 1, '24h': 3 });
  assert.deepEqual(laterCard.cardDeclines, { '1m': 0, '1h': 0, '24h': 1 });
  assert.deepEqual(laterCard.cardRefunds, { '1m': 0, '1h': 0, '24h': 1 });
  assert.equal(laterCard.email, undefined);
  assert.deepEqual(
    nextDay.card?.count,
    { '1m': 1, '1h': 1, '24h': 2 },
    'the first two attempts left the 24 h window',
  );
  assert.deepEqual(nextDay.cardDeclines, { '1m': 0, '1h': 0, '24h': 0 });
  assert.equal(nextDay.ip, undefined);
  assert.deepEqual(noCard.ip?.count, { '1m': 1, '1h': 1, '24h': 1 }, 'the attempt at 90 min left the window');
  assert.equal(noCard.card, undefined);
  assert.equal(noCard.firstSeenCard, undefined);
  assert.equal(noCard.ipDistinctCards, undefined);
});

test(
  'the PostgreSQL and Redis stores answer the same',
  { skip: !redisUrl && 'REDIS_URL is unset: the Redis store needs a real Redis' },
  async () => {
    const merchantId = `mer_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
    assert.deepEqual(await script(onPostgres, merchantId), await script(onRedis!, merchantId));
  },
);

test('50 parallel attempts on one card are counted 1..50, each number once', async () => {
  const merchantId = `mer_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
  const answers = await Promise.all(
    Array.from({ length: 50 }, (_, index) =>
      onPostgres.record(attempt(merchantId, `pay_parallel_${index}`, minutes(0), { email: undefined })),
    ),
  );
  const counts = answers.map((answer) => answer.card!.count['1m']).sort((a, b) => a - b);
  assert.deepEqual(
    counts,
    Array.from({ length: 50 }, (_, index) => index + 1),
  );
  assert.equal(answers.filter((answer) => answer.firstSeenCard).length, 1, 'one attempt is the card’s first');
  // Under load the store sends them in batches (migration 0802): each answer is its own attempt's,
  // the n-th counted seeing the n − 1 before it (sum n × 1,000), whatever batch it travelled in.
  for (const answer of answers)
    assert.equal(answer.card!.sum['1m'], answer.card!.count['1m'] * 1_000, 'count and sum of one attempt');
});

test('the PostgreSQL store works as the first query of a fresh pool', async () => {
  const fresh = createSql({ url: database.url, maxConnections: 1 });
  try {
    const answer = await postgresVelocityStore(fresh).record(
      attempt(`mer_${randomUUID().replaceAll('-', '').slice(0, 24)}`, 'pay_fresh', minutes(0)),
    );
    assert.equal(answer.card?.count['1m'], 1);
  } finally {
    await fresh.end();
  }
});
