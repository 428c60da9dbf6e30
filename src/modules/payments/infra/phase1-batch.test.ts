// Phase 1 of many authorizations as one statement (insertKeysAndPayments, batched across requests)
// against real PostgreSQL: the same answers as one statement per row, a key claimed once even when a
// batch carries it twice, all or nothing when one row is refused, and the batcher keeps a bad row's
// failure to its own caller.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database.ts';
import { createBatcher } from '../../../platform/db/batcher.ts';
import { newId } from '../../../platform/ids.ts';
import { references } from '../domain/payment.ts';
import { insertKeyAndPayment, insertKeysAndPayments, type NewPayment } from './payment-repository.ts';

let database: TestDatabase;
before(async () => {
  database = await createTestDatabase();
});
after(async () => database.drop());

const fingerprintOf = (key: string) => createHash('sha256').update(key).digest('hex');
const now = new Date('2026-06-01T12:00:00.123Z');

function row(merchantId: string, key: string, more: Partial<NewPayment> = {}) {
  const id = newId('pay');
  const payment: NewPayment = {
    id,
    merchantId,
    amount: 1234n,
    currency: 'EUR',
    method: 'card',
    token: 'tok_x',
    captureOnAuthorize: false,
    processorReference: references.authorization(id),
    returnUrl: null,
    metadata: { order: key, nested: { n: 1 } },
    receiptEmail: null,
    receiptPhone: null,
    now,
    ...more,
  };
  return {
    key: { key, fingerprint: fingerprintOf(key), nextAttemptAt: new Date(now.getTime() + 5_000) },
    payment,
  };
}

async function counts(merchantId: string) {
  const [result] = await database.sql<{ keys: number; payments: number }[]>`
    select (select count(*)::int from payments.idempotency_keys where merchant_id = ${merchantId}) as keys,
           (select count(*)::int from payments.payments where merchant_id = ${merchantId}) as payments`;
  return result!;
}

test('a batch writes what one statement per row writes, with every column', async () => {
  const merchantId = `m_${randomUUID()}`;
  const batch = [row(merchantId, 'a'), row(merchantId, 'b', { amount: 99999999999n, currency: 'JPY' })];
  const alone = row(merchantId, 'c');
  const answers = await insertKeysAndPayments(database.sql, batch);
  const single = await insertKeyAndPayment(database.sql, alone.key, alone.payment);
  assert.equal(answers.length, 2);
  for (const [index, answer] of answers.entries()) {
    assert.ok(answer, `row ${index} was written`);
    assert.equal(answer.id, batch[index]!.payment.id);
  }
  const strip = (payment: NonNullable<typeof single>) => ({ ...payment, id: '', processorReference: '' });
  assert.deepEqual(
    { ...strip(answers[0]!), metadata: single!.metadata },
    { ...strip(single!), metadata: single!.metadata },
  );
  assert.deepEqual(answers[0]!.metadata, { order: 'a', nested: { n: 1 } });
  assert.equal(answers[1]!.amount, 99999999999n);
  assert.equal(answers[1]!.createdAt.toISOString(), now.toISOString());
  const keys = await database.sql`
    select idempotency_key, recovery_point, resource_id, next_attempt_at, request_fingerprint, locked_at
    from payments.idempotency_keys where merchant_id = ${merchantId} order by idempotency_key`;
  assert.deepEqual(
    keys.map((key) => [key.idempotency_key, key.recovery_point, key.request_fingerprint]),
    ['a', 'b', 'c'].map((key) => [key, 'phase1_committed', fingerprintOf(key)]),
  );
  assert.equal(keys[0]!.resource_id, batch[0]!.payment.id);
  assert.equal((keys[0]!.next_attempt_at as Date).toISOString(), '2026-06-01T12:00:05.123Z');
});

test('a key that exists, or that the batch carries twice, is claimed once; the others get undefined', async () => {
  const merchantId = `m_${randomUUID()}`;
  const first = row(merchantId, 'k1');
  assert.ok(await insertKeyAndPayment(database.sql, first.key, first.payment));
  const twiceA = row(merchantId, 'k2');
  const twiceB = row(merchantId, 'k2');
  const again = row(merchantId, 'k1');
  const fresh = row(merchantId, 'k3');
  const answers = await insertKeysAndPayments(database.sql, [again, twiceA, twiceB, fresh]);
  assert.equal(answers[0], undefined, 'an existing key writes nothing');
  assert.equal(answers.filter((answer) => answer !== undefined).length, 2);
  assert.equal(answers[3]?.id, fresh.payment.id);
  assert.equal([answers[1], answers[2]].filter((answer) => answer !== undefined).length, 1);
  assert.deepEqual(await counts(merchantId), { keys: 3, payments: 3 });
});

test('one refused row fails the whole statement and writes nothing; the batcher answers each caller alone', async () => {
  const merchantId = `m_${randomUUID()}`;
  const bad = row(merchantId, 'bad', { returnUrl: 'ftp://not-allowed.example' });
  const goods = [row(merchantId, 'g1'), row(merchantId, 'g2')];
  await assert.rejects(insertKeysAndPayments(database.sql, [goods[0]!, bad, goods[1]!]), /check constraint/);
  assert.deepEqual(await counts(merchantId), { keys: 0, payments: 0 });

  const batcher = createBatcher({
    maxInFlight: 1,
    maxBatch: 10,
    runBatch: (rows: readonly ReturnType<typeof row>[]) => insertKeysAndPayments(database.sql, rows),
    runOne: (item: ReturnType<typeof row>) => insertKeyAndPayment(database.sql, item.key, item.payment),
  });
  const warm = row(merchantId, 'warm');
  const settled = await Promise.allSettled(
    [warm, goods[0]!, bad, goods[1]!].map((item) => batcher.submit(item)),
  );
  assert.deepEqual(
    settled.map((result) => result.status),
    ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
  );
  assert.equal(batcher.counts.fallbacks, 1, 'the batch of three failed and ran alone');
  assert.deepEqual(await counts(merchantId), { keys: 3, payments: 3 });
});
