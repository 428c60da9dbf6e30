// Phase 2's guarded updates of many authorizations in one shared transaction (updatePayment through
// the transaction batcher, ADR 18) against real PostgreSQL: the same rows as one update each, for
// outcomes that change different columns; a payment that changed meanwhile misses its guard in the
// batch as it would alone; and a payment changed twice in one batch is refused, never applied twice.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { barrier } from '../../../../test/support/barrier.ts';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database.ts';
import { createTransactionBatcher, type TransactionBatcher } from '../../../platform/db/batcher.ts';
import type { TransactionSql } from '../../../platform/db/client.ts';
import { newId } from '../../../platform/ids.ts';
import { references, type Payment } from '../domain/payment.ts';
import { insertKeyAndPayment, updatePayment, type PaymentChanges } from './payment-repository.ts';

let database: TestDatabase;
before(async () => {
  database = await createTestDatabase();
});
after(async () => database.drop());

const now = new Date('2026-06-01T12:00:00.123Z');
const later = new Date('2026-06-01T12:00:01.456Z');

async function pendingPayment(merchantId: string): Promise<Payment> {
  const id = newId('pay');
  const key = `k_${id}`;
  const inserted = await insertKeyAndPayment(
    database.sql,
    { key, fingerprint: createHash('sha256').update(key).digest('hex'), nextAttemptAt: now },
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
  return inserted!;
}

/**
 * A phase-2-like work through the batcher: a round trip, then (once its batch-mates arrive) the
 * guarded update.
 */
function guardedUpdateIn(batcher: TransactionBatcher) {
  return (payment: Payment, changes: PaymentChanges, arrived: () => Promise<void>) =>
    batcher.run(async (transaction: TransactionSql) => {
      await transaction`select 1`;
      await arrived();
      return updatePayment(transaction, payment, changes, later);
    });
}

const approved: PaymentChanges = {
  status: 'AUTHORIZED',
  acquirer_authorization_id: 'auth_1',
  authorized_amount: 4000n,
  authorized_at: later,
  next_action: null,
  expires_at: new Date('2026-06-08T12:00:00.000Z'),
  risk: { decision: 'review', score: 42, riskLevel: 'elevated', reasons: [], rulesetVersion: 3 },
  review: 'pending',
};
const declined: PaymentChanges = { status: 'FAILED', decline_code: 'insufficient_funds' };

test('updates sharing a transaction write what one update each writes, and a missed guard stays missed', async () => {
  const merchantId = `m_${randomUUID()}`;
  const [a, b, c, d, alone] = await Promise.all(Array.from({ length: 5 }, () => pendingPayment(merchantId)));
  // c changed meanwhile: its guard (version) must miss in the batch as alone.
  await database.sql`update payments.payments set version = version + 1 where id = ${c!.id}`;
  const batcher = createTransactionBatcher(database.sql, { maxInFlight: 1, maxBatch: 8 });
  const three = barrier(3);
  const update = guardedUpdateIn(batcher);
  // The first runs alone; the others queue behind it, share one transaction and reach their
  // update together (one statement per set of changed columns).
  const [first, ...rest] = await Promise.all([
    update(a!, approved, async () => undefined),
    update(b!, approved, three),
    update(c!, approved, three),
    update(d!, declined, three),
  ]);
  assert.equal(batcher.counts.statements, 2);
  assert.equal(rest[1], undefined, 'the payment changed meanwhile is not updated');
  const single = await database.sql.begin((transaction) =>
    updatePayment(transaction, alone!, approved, later),
  );
  const strip = (payment: Payment | undefined) => {
    assert.ok(payment);
    return { ...payment, id: undefined, processorReference: undefined, createdAt: undefined };
  };
  assert.deepEqual(strip(first), strip(single));
  assert.deepEqual(strip(rest[0]), strip(single));
  assert.equal(single!.authorizedAmount, 4000n);
  assert.equal(single!.review, 'pending');
  assert.equal(single!.version, alone!.version + 1);
  assert.equal(rest[2]!.status, 'FAILED');
  assert.equal(rest[2]!.declineCode, 'insufficient_funds');
  assert.equal(rest[2]!.authorizedAmount, 0n);
  const [stored] = await database.sql<{ status: string; version: number }[]>`
    select status, version from payments.payments where id = ${c!.id}`;
  assert.deepEqual({ ...stored }, { status: 'PENDING', version: c!.version + 1 });
});

test('one payment changed twice in one batch is refused and each change runs alone: applied once', async () => {
  const merchantId = `m_${randomUUID()}`;
  const [blocker, payment] = await Promise.all([pendingPayment(merchantId), pendingPayment(merchantId)]);
  const batcher = createTransactionBatcher(database.sql, { maxInFlight: 1, maxBatch: 8 });
  const two = barrier(2);
  const update = guardedUpdateIn(batcher);
  const [, once, twice] = await Promise.all([
    update(blocker!, declined, async () => undefined),
    update(payment!, approved, two),
    update(payment!, declined, two),
  ]);
  assert.equal(batcher.counts.fallbacks, 1);
  // Alone, the two changes race as any two writers do: exactly one applies, the other misses its guard.
  const applied = [once, twice].filter((change) => change !== undefined);
  assert.equal(applied.length, 1, 'one change applies, never both');
  const [stored] = await database.sql<{ status: string; version: number }[]>`
    select status, version from payments.payments where id = ${payment!.id}`;
  assert.deepEqual({ ...stored }, { status: applied[0]!.status, version: payment!.version + 1 });
});
