// Phase 1 of capture, refund and void on the payment as validate read it (claimOnReadPayment, ADR 18),
// against real PostgreSQL: the key is claimed at its recovery point with the guarded change; a key that
// existed, or a payment that changed since it was read, leaves nothing written (the runner then goes
// step by step); many at once (sharing transactions under load) each get their own answer.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database.ts';
import { newId } from '../../../platform/ids.ts';
import { references, type Payment } from '../domain/payment.ts';
import { findPayment, insertKeyAndPayment, updatePayment } from '../infra/payment-repository.ts';
import { claimOnReadPayment } from './pipeline.ts';

let database: TestDatabase;
before(async () => {
  database = await createTestDatabase();
});
after(async () => database.drop());

const now = new Date('2026-06-01T12:00:00.123Z');
const firstAttemptAt = new Date('2026-06-01T12:00:05.000Z');

function fingerprint(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** An AUTHORIZED payment of 5000, as validate would read it. */
async function authorizedPayment(merchantId: string): Promise<Payment> {
  const id = newId('pay');
  const key = `auth_${id}`;
  await insertKeyAndPayment(
    database.sql,
    { key, fingerprint: fingerprint(key), nextAttemptAt: now },
    {
      id,
      merchantId,
      amount: 5000n,
      currency: 'EUR',
      method: 'card',
      token: 'tok_x',
      captureOnAuthorize: false,
      processorReference: references.authorization(id),
      returnUrl: null,
      metadata: {},
      receiptEmail: null,
      receiptPhone: null,
      now,
    },
  );
  await database.sql`
    update payments.payments
    set status = 'AUTHORIZED', authorized_amount = 5000, acquirer_authorization_id = 'auth_1',
      version = version + 1
    where id = ${id}`;
  return (await findPayment(database.sql, merchantId, id))!;
}

/** A capture's phase 1 on `read` under `key`, as captureOperation.claimNewKey runs it. */
function claimCapture(read: Payment, key: string) {
  return claimOnReadPayment(
    { sql: database.sql },
    { merchantId: read.merchantId, idempotencyKey: key, fingerprint: fingerprint(key) },
    { operation: 'capture', resourceId: read.id, now, firstAttemptAt },
    (transaction) =>
      updatePayment(
        transaction,
        read,
        { pending_operation: 'capture', pending_operation_amount: read.authorizedAmount },
        now,
      ),
  );
}

async function keyRow(merchantId: string, key: string) {
  const [row] = await database.sql<
    { recovery_point: string; resource_id: string | null; operation: string; next_attempt_at: Date | null }[]
  >`
    select recovery_point, resource_id, operation, next_attempt_at from payments.idempotency_keys
    where merchant_id = ${merchantId} and idempotency_key = ${key}`;
  return row;
}

test('a claim on a payment as read: the key at its recovery point and the change, together', async () => {
  const merchantId = `m_${randomUUID()}`;
  const read = await authorizedPayment(merchantId);
  const claimed = await claimCapture(read, 'cap_1');
  assert.ok(claimed && claimed.type === 'continue');
  assert.equal(claimed.resourceId, read.id);
  assert.equal(claimed.subject?.pendingOperation, 'capture');
  assert.equal(claimed.subject?.pendingOperationAmount, 5000n);
  assert.deepEqual(await keyRow(merchantId, 'cap_1'), {
    recovery_point: 'phase1_committed',
    resource_id: read.id,
    operation: 'capture',
    next_attempt_at: firstAttemptAt,
  });
  const stored = await findPayment(database.sql, merchantId, read.id);
  assert.equal(stored?.pendingOperation, 'capture');
  assert.equal(stored?.version, read.version + 1);
});

test('a payment changed since it was read: nothing written, the key taken back', async () => {
  const merchantId = `m_${randomUUID()}`;
  const read = await authorizedPayment(merchantId);
  await database.sql`update payments.payments set version = version + 1 where id = ${read.id}`;
  assert.equal(await claimCapture(read, 'cap_stale'), undefined);
  assert.equal(await keyRow(merchantId, 'cap_stale'), undefined, 'the key is not left behind');
  const stored = await findPayment(database.sql, merchantId, read.id);
  assert.equal(stored?.pendingOperation, null);
  assert.equal(stored?.version, read.version + 1, 'only the change made meanwhile');
});

test('a key that exists: nothing written, the payment untouched', async () => {
  const merchantId = `m_${randomUUID()}`;
  const first = await authorizedPayment(merchantId);
  const second = await authorizedPayment(merchantId);
  assert.ok(await claimCapture(first, 'cap_same'));
  // The same key for another payment (another request): refused here, the runner then answers it.
  assert.equal(await claimCapture(second, 'cap_same'), undefined);
  assert.equal((await keyRow(merchantId, 'cap_same'))?.resource_id, first.id);
  const untouched = await findPayment(database.sql, merchantId, second.id);
  assert.equal(untouched?.pendingOperation, null);
  assert.equal(untouched?.version, second.version);
});

test('many at once, some sharing transactions: each its own answer, one claim per payment and key', async () => {
  const merchantId = `m_${randomUUID()}`;
  const payments = await Promise.all(Array.from({ length: 12 }, () => authorizedPayment(merchantId)));
  const stale = payments.slice(0, 3);
  for (const payment of stale)
    await database.sql`update payments.payments set version = version + 1 where id = ${payment.id}`;
  // Each fresh payment claimed twice at once under two keys (two captures racing), and one key
  // sent twice at once for one payment (a client retrying while its first request runs).
  const attempts = [
    ...payments.flatMap((payment, index) => [
      { payment, key: `race_a_${index}` },
      { payment, key: `race_b_${index}` },
    ]),
    { payment: payments[11]!, key: 'race_a_11' },
  ];
  const results = await Promise.all(attempts.map(({ payment, key }) => claimCapture(payment, key)));
  for (const [index, payment] of payments.entries()) {
    const won = attempts
      .map((attempt, position) => ({ ...attempt, result: results[position] }))
      .filter((attempt) => attempt.payment.id === payment.id && attempt.result !== undefined);
    const stored = await findPayment(database.sql, merchantId, payment.id);
    const keys = await database.sql<{ idempotency_key: string }[]>`
      select idempotency_key from payments.idempotency_keys
      where merchant_id = ${merchantId} and resource_id = ${payment.id} and operation = 'capture'`;
    if (index < stale.length) {
      assert.equal(won.length, 0, 'a stale read never claims');
      assert.equal(stored?.pendingOperation, null);
      assert.deepEqual(
        keys.map((row) => row.idempotency_key),
        [],
      );
    } else {
      assert.equal(won.length, 1, `exactly one claim on ${payment.id}`);
      assert.equal(stored?.pendingOperation, 'capture');
      assert.equal(stored?.version, payment.version + 1, 'changed once');
      assert.deepEqual(
        keys.map((row) => row.idempotency_key),
        [won[0]!.key],
      );
    }
  }
});
