// The idempotency keys table (Brandur Leach's design): insert-or-lock a key in phase 1, record the
// recovery point, store the final answer in phase 2, and let the janitor find unfinished keys. The
// reaper is the platform's (deleteFinishedKeysBefore in src/platform/idempotency.ts).
import assert from 'node:assert/strict';
import { coalescedWrite } from '../../../platform/db/batcher.ts';
import type { Queryable, TransactionSql } from '../../../platform/db/client.ts';
import type { ApiAnswer } from '../domain/payment.ts';

export type KeyOperation = 'authorize' | 'capture' | 'refund' | 'void';

export interface IdempotencyKey {
  readonly merchantId: string;
  readonly key: string;
  readonly operation: KeyOperation;
  readonly fingerprint: string;
  readonly lockedAt: Date | null;
  readonly recoveryPoint: 'started' | 'phase1_committed' | 'finished';
  readonly resourceId: string | null;
  readonly response: ApiAnswer | null;
  readonly attempts: number;
  readonly createdAt: Date;
}

interface KeyRow {
  merchant_id: string;
  idempotency_key: string;
  operation: string;
  request_fingerprint: string;
  locked_at: Date | null;
  recovery_point: string;
  resource_id: string | null;
  response_status: number | null;
  response_body: string | null;
  attempts: number;
  created_at: Date;
}

function toKey(row: KeyRow): IdempotencyKey {
  return {
    merchantId: row.merchant_id,
    key: row.idempotency_key,
    operation: row.operation as KeyOperation,
    fingerprint: row.request_fingerprint,
    lockedAt: row.locked_at,
    recoveryPoint: row.recovery_point as IdempotencyKey['recoveryPoint'],
    resourceId: row.resource_id,
    response:
      row.response_status !== null && row.response_body !== null
        ? { status: row.response_status, body: row.response_body }
        : null,
    attempts: row.attempts,
    createdAt: row.created_at,
  };
}

/** Inserts the key locked by this request; undefined if it already exists (nothing changed). */
export async function insertKey(
  transaction: TransactionSql,
  key: { merchantId: string; key: string; operation: KeyOperation; fingerprint: string; now: Date },
): Promise<IdempotencyKey | undefined> {
  const [row] = await transaction<KeyRow[]>`
    insert into payments.idempotency_keys (merchant_id, idempotency_key, operation, request_fingerprint,
      locked_at, recovery_point, created_at, updated_at)
    values (${key.merchantId}, ${key.key}, ${key.operation}, ${key.fingerprint}, ${key.now}, 'started',
      ${key.now}, ${key.now})
    on conflict (merchant_id, idempotency_key) do nothing
    returning *`;
  return row ? toKey(row) : undefined;
}

export async function lockKey(
  transaction: TransactionSql,
  merchantId: string,
  key: string,
): Promise<IdempotencyKey | undefined> {
  const [row] = await transaction<KeyRow[]>`
    select * from payments.idempotency_keys
    where merchant_id = ${merchantId} and idempotency_key = ${key} for update`;
  return row ? toKey(row) : undefined;
}

export async function setKeyLock(
  transaction: Queryable,
  merchantId: string,
  key: string,
  lockedAt: Date | null,
): Promise<void> {
  await transaction`
    update payments.idempotency_keys set locked_at = ${lockedAt}, updated_at = now()
    where merchant_id = ${merchantId} and idempotency_key = ${key} and recovery_point <> 'finished'`;
}

export async function markPhase1Committed(
  transaction: TransactionSql,
  merchantId: string,
  key: string,
  resourceId: string,
  nextAttemptAt: Date | null,
): Promise<void> {
  await transaction`
    update payments.idempotency_keys
    set recovery_point = 'phase1_committed', resource_id = ${resourceId}, next_attempt_at = ${nextAttemptAt},
      updated_at = now()
    where merchant_id = ${merchantId} and idempotency_key = ${key} and recovery_point = 'started'`;
}

/** A key claimed at its recovery point in the statement that inserts it (phase 1 on a read payment). */
export interface ClaimedKey {
  readonly merchantId: string;
  readonly key: string;
  readonly operation: KeyOperation;
  readonly fingerprint: string;
  readonly resourceId: string;
  readonly nextAttemptAt: Date | null;
  readonly now: Date;
}

/**
 * Inserts keys already at `phase1_committed` (locked by their request, their resource named), the
 * rows of the works sharing a transaction in one statement (ADR 18); per key, whether it was new
 * (false: it existed, nothing changed). Keys in a fixed order, so two batches cannot deadlock.
 */
export const insertClaimedKey = coalescedWrite(
  async (transaction: TransactionSql, keys: readonly ClaimedKey[]): Promise<readonly boolean[]> => {
    // One key twice in one statement: which row went in is not known; the batch fails and each
    // work runs alone, where the second finds the first's key.
    const named = new Set(keys.map((key) => `${key.merchantId}\u0000${key.key}`));
    assert.ok(named.size === keys.length, 'an idempotency key is claimed twice in one batch');
    const inserted = await transaction<{ merchant_id: string; idempotency_key: string }[]>`
      insert into payments.idempotency_keys (merchant_id, idempotency_key, operation, request_fingerprint,
        locked_at, recovery_point, resource_id, next_attempt_at, created_at, updated_at)
      select merchant_id, idempotency_key, operation, request_fingerprint, now, 'phase1_committed',
        resource_id, next_attempt_at, now, now
      from unnest(
        ${keys.map((key) => key.merchantId)}::text[],
        ${keys.map((key) => key.key)}::text[],
        ${keys.map((key) => key.operation)}::text[],
        ${keys.map((key) => key.fingerprint)}::text[],
        ${keys.map((key) => key.resourceId)}::text[],
        ${keys.map((key) => key.nextAttemptAt?.toISOString() ?? null)}::timestamptz[],
        ${keys.map((key) => key.now.toISOString())}::timestamptz[]
      ) as claimed (merchant_id, idempotency_key, operation, request_fingerprint, resource_id,
        next_attempt_at, now)
      order by merchant_id, idempotency_key
      on conflict (merchant_id, idempotency_key) do nothing
      returning merchant_id, idempotency_key`;
    const isNew = new Set(inserted.map((row) => `${row.merchant_id}\u0000${row.idempotency_key}`));
    return keys.map((key) => isNew.has(`${key.merchantId}\u0000${key.key}`));
  },
);

/** Takes back a key this transaction inserted (its operation's guarded change missed). */
export async function deleteClaimedKey(transaction: TransactionSql, key: ClaimedKey): Promise<void> {
  const [deleted] = await transaction`
    delete from payments.idempotency_keys
    where merchant_id = ${key.merchantId} and idempotency_key = ${key.key}
      and recovery_point = 'phase1_committed' and resource_id = ${key.resourceId}
    returning 1`;
  if (!deleted) throw new Error('a key claimed in this transaction is missing');
}

/** Stores the final answer and unlocks the key; a finished key is only ever replayed. */
/** Keys' final answers in one statement (the rows of the works sharing a transaction, ADR 18). */
const finishKeys = coalescedWrite(
  async (
    transaction: TransactionSql,
    rows: readonly { merchantId: string; key: string; answer: ApiAnswer }[],
  ): Promise<readonly undefined[]> => {
    await transaction`
      update payments.idempotency_keys key
      set recovery_point = 'finished', response_status = answer.status, response_body = answer.body,
        locked_at = null, next_attempt_at = null, updated_at = now(), finished_at = now()
      from unnest(
        ${rows.map((row) => row.merchantId)}::text[],
        ${rows.map((row) => row.key)}::text[],
        ${rows.map((row) => row.answer.status)}::int[],
        ${rows.map((row) => row.answer.body)}::text[]
      ) as answer (merchant_id, idempotency_key, status, body)
      where key.merchant_id = answer.merchant_id and key.idempotency_key = answer.idempotency_key`;
    return rows.map(() => undefined);
  },
);

export async function finishKey(
  transaction: TransactionSql,
  merchantId: string,
  key: string,
  answer: ApiAnswer,
): Promise<void> {
  await finishKeys(transaction, { merchantId, key, answer });
}

/** The outcome is still unknown: unlock the key and say when the janitor should ask again. */
export async function scheduleKey(
  sql: Queryable,
  merchantId: string,
  key: string,
  attempts: number,
  nextAttemptAt: Date | null,
): Promise<void> {
  await sql`
    update payments.idempotency_keys
    set locked_at = null, attempts = ${attempts}, next_attempt_at = ${nextAttemptAt}, updated_at = now()
    where merchant_id = ${merchantId} and idempotency_key = ${key} and recovery_point = 'phase1_committed'`;
}

/**
 * Claims unfinished keys that are due (scheduled inquiry) or abandoned (locked by a request whose
 * process died: the lock is older than `lockExpiredBefore`). Claiming sets the lock, so two workers
 * never resume the same key.
 */
export async function claimDueKeys(
  sql: Queryable,
  now: Date,
  lockExpiredBefore: Date,
  limit: number,
): Promise<IdempotencyKey[]> {
  const rows = await sql<KeyRow[]>`
    update payments.idempotency_keys set locked_at = ${now}, updated_at = now()
    where (merchant_id, idempotency_key) in (
      select merchant_id, idempotency_key from payments.idempotency_keys
      where recovery_point = 'phase1_committed'
        and ((locked_at is null and next_attempt_at <= ${now}) or locked_at < ${lockExpiredBefore})
      order by next_attempt_at nulls first
      limit ${limit}
      for update skip locked)
    returning *`;
  return rows.map(toKey);
}

/**
 * Claims the unfinished key of a resource: to resolve it before a follow-up operation, or with
 * `awaitingOperator` only one whose inquiry schedule has run out (an operator's resolution).
 * Undefined when none, or when someone holds it (locked and the lock still young).
 */
export async function claimKeyOfResource(
  sql: Queryable,
  resourceId: string,
  now: Date,
  lockExpiredBefore: Date,
  { awaitingOperator = false }: { readonly awaitingOperator?: boolean } = {},
): Promise<IdempotencyKey | undefined> {
  const [row] = await sql<KeyRow[]>`
    update payments.idempotency_keys set locked_at = ${now}, updated_at = now()
    where (merchant_id, idempotency_key) in (
      select merchant_id, idempotency_key from payments.idempotency_keys
      where recovery_point = 'phase1_committed' and resource_id = ${resourceId}
        ${awaitingOperator ? sql`and next_attempt_at is null` : sql``}
        and (locked_at is null or locked_at < ${lockExpiredBefore})
      limit 1
      for update skip locked)
    returning *`;
  return row ? toKey(row) : undefined;
}

/** A key whose inquiry schedule ran out with the outcome still unknown (ADR 34), with its payment. */
export interface UnresolvedKey {
  readonly merchantId: string;
  readonly operation: KeyOperation;
  readonly resourceId: string;
  readonly paymentId: string;
  readonly amount: bigint;
  readonly currency: string;
  readonly paymentStatus: string;
  readonly attempts: number;
  readonly createdAt: Date;
  readonly lastAttemptAt: Date;
}

/**
 * The keys waiting for an operator, oldest first: unfinished, no next inquiry (the schedule ran out),
 * not locked by a resolution in progress. A refund's key names the refund; its payment is the refund's.
 */
export async function listUnresolvedKeys(sql: Queryable, limit: number): Promise<UnresolvedKey[]> {
  const rows = await sql<
    {
      merchant_id: string;
      operation: string;
      resource_id: string;
      payment_id: string;
      amount: bigint;
      currency: string;
      payment_status: string;
      attempts: number;
      created_at: Date;
      updated_at: Date;
    }[]
  >`
    select k.merchant_id, k.operation, k.resource_id, p.id as payment_id,
      coalesce(r.amount, p.amount) as amount, p.currency, p.status as payment_status, k.attempts,
      k.created_at, k.updated_at
    from payments.idempotency_keys k
    left join payments.refunds r on k.operation = 'refund' and r.id = k.resource_id
    join payments.payments p on p.id = coalesce(r.payment_id, k.resource_id)
    where k.recovery_point = 'phase1_committed' and k.next_attempt_at is null
    order by k.created_at, k.resource_id
    limit ${limit}`;
  return rows.map((row) => ({
    merchantId: row.merchant_id,
    operation: row.operation as KeyOperation,
    resourceId: row.resource_id,
    paymentId: row.payment_id,
    amount: BigInt(row.amount),
    currency: row.currency,
    paymentStatus: row.payment_status,
    attempts: row.attempts,
    createdAt: row.created_at,
    lastAttemptAt: row.updated_at,
  }));
}

/** How many keys wait for an operator, by operation (the gauge payflow_payments_awaiting_resolution). */
export async function countUnresolvedKeys(sql: Queryable): Promise<Map<KeyOperation, number>> {
  const rows = await sql<{ operation: string; keys: bigint }[]>`
    select operation, count(*)::bigint as keys from payments.idempotency_keys
    where recovery_point = 'phase1_committed' and next_attempt_at is null
    group by operation`;
  return new Map(rows.map((row) => [row.operation as KeyOperation, Number(row.keys)]));
}

/** Whether the key of a resource is finished now (after a resolution). */
export async function keyOfResourceFinished(
  sql: Queryable,
  merchantId: string,
  key: string,
): Promise<boolean> {
  const [row] = await sql<{ recovery_point: string }[]>`
    select recovery_point from payments.idempotency_keys
    where merchant_id = ${merchantId} and idempotency_key = ${key}`;
  return row?.recovery_point === 'finished';
}
