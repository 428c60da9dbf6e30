// SQL for payments and refunds. Every change of a payment is a guarded update
// (`WHERE id AND version = expected AND status = expected`): a writer that lost a race changes
// nothing and learns it from the row count.
import assert from 'node:assert/strict';
import { coalescedWrite } from '../../../platform/db/batcher.ts';
import type { Queryable, TransactionSql } from '../../../platform/db/client.ts';
import type { CurrencyCode } from '../../../platform/money.ts';
import type { PaymentStatus } from '../domain/payment-state.ts';
import type { PaymentFilter } from '../domain/payment-filter.ts';
import type { PaymentRisk } from '../application/ports.ts';
import type {
  Payment,
  ReviewState,
  PaymentMethodType,
  PendingOperation,
  Refund,
  RefundStatus,
} from '../domain/payment.ts';

interface PaymentRow {
  id: string;
  merchant_id: string;
  amount: bigint;
  currency: string;
  method: string;
  token: string | null;
  capture_on_authorize: boolean;
  return_url: string | null;
  receipt_email: string | null;
  receipt_phone: string | null;
  status: string;
  authorized_amount: bigint;
  captured_amount: bigint;
  refunded_amount: bigint;
  refunding_amount: bigint;
  version: number;
  processor_reference: string;
  acquirer_authorization_id: string | null;
  decline_code: string | null;
  next_action: Payment['nextAction'];
  metadata: Record<string, unknown>;
  pending_operation: string | null;
  pending_operation_amount: bigint | null;
  expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
  authorized_at: Date | null;
  captured_at: Date | null;
  voided_at: Date | null;
  risk: PaymentRisk | null;
  review: ReviewState | null;
}

function toPayment(row: PaymentRow): Payment {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    amount: row.amount,
    currency: row.currency as CurrencyCode,
    method: row.method as PaymentMethodType,
    token: row.token,
    captureOnAuthorize: row.capture_on_authorize,
    returnUrl: row.return_url,
    receiptEmail: row.receipt_email,
    receiptPhone: row.receipt_phone,
    status: row.status as PaymentStatus,
    authorizedAmount: row.authorized_amount,
    capturedAmount: row.captured_amount,
    refundedAmount: row.refunded_amount,
    refundingAmount: row.refunding_amount,
    version: row.version,
    processorReference: row.processor_reference,
    acquirerAuthorizationId: row.acquirer_authorization_id,
    declineCode: row.decline_code,
    nextAction: row.next_action,
    metadata: row.metadata,
    pendingOperation: row.pending_operation as PendingOperation | null,
    pendingOperationAmount: row.pending_operation_amount,
    expiresAt: row.expires_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    authorizedAt: row.authorized_at,
    capturedAt: row.captured_at,
    voidedAt: row.voided_at,
    risk: row.risk,
    review: row.review,
  };
}

export async function insertPayment(
  transaction: TransactionSql,
  payment: {
    readonly id: string;
    readonly merchantId: string;
    readonly amount: bigint;
    readonly currency: CurrencyCode;
    readonly method: PaymentMethodType;
    readonly token: string | null;
    readonly captureOnAuthorize: boolean;
    readonly returnUrl: string | null;
    readonly processorReference: string;
    readonly metadata: Record<string, unknown>;
    readonly receiptEmail: string | null;
    readonly receiptPhone: string | null;
    readonly now: Date;
  },
): Promise<Payment> {
  const [row] = await transaction<PaymentRow[]>`
    insert into payments.payments (id, merchant_id, amount, currency, method, token, capture_on_authorize,
      return_url, receipt_email, receipt_phone, status, processor_reference, metadata, created_at, updated_at)
    values (${payment.id}, ${payment.merchantId}, ${payment.amount}, ${payment.currency}, ${payment.method},
      ${payment.token}, ${payment.captureOnAuthorize}, ${payment.returnUrl}, ${payment.receiptEmail},
      ${payment.receiptPhone}, 'PENDING', ${payment.processorReference},
      ${transaction.json(payment.metadata as never)}, ${payment.now}, ${payment.now})
    returning *`;
  return toPayment(row!);
}

/** The payment of a new authorization, as insertPayment takes it. */
export type NewPayment = Parameters<typeof insertPayment>[1];

/**
 * Phase 1 of a new authorization as one statement (ADR 18): inserts the idempotency key already at
 * its recovery point `phase1_committed` (locked by this request, resource = the payment) and, only
 * when the key was new, the PENDING payment. One statement is one atomic implicit transaction: no
 * BEGIN/COMMIT round trips. Undefined when the key existed (nothing written): claim it step by step.
 */
export async function insertKeyAndPayment(
  sql: Queryable,
  key: {
    readonly key: string;
    readonly fingerprint: string;
    readonly nextAttemptAt: Date | null;
  },
  payment: NewPayment,
): Promise<Payment | undefined> {
  const [row] = await sql<PaymentRow[]>`
    with claimed as (
      insert into payments.idempotency_keys (merchant_id, idempotency_key, operation, request_fingerprint,
        locked_at, recovery_point, resource_id, next_attempt_at, created_at, updated_at)
      values (${payment.merchantId}, ${key.key}, 'authorize', ${key.fingerprint}, ${payment.now},
        'phase1_committed', ${payment.id}, ${key.nextAttemptAt}, ${payment.now}, ${payment.now})
      on conflict (merchant_id, idempotency_key) do nothing
      returning 1
    )
    insert into payments.payments (id, merchant_id, amount, currency, method, token, capture_on_authorize,
      return_url, receipt_email, receipt_phone, status, processor_reference, metadata, created_at, updated_at)
    select ${payment.id}, ${payment.merchantId}, ${payment.amount}, ${payment.currency}, ${payment.method},
      ${payment.token}, ${payment.captureOnAuthorize}, ${payment.returnUrl}, ${payment.receiptEmail},
      ${payment.receiptPhone}, 'PENDING', ${payment.processorReference},
      ${sql.json(payment.metadata as never)}, ${payment.now}, ${payment.now}
    where exists (select 1 from claimed)
    returning *`;
  return row ? toPayment(row) : undefined;
}

/**
 * Phase 1 of several new authorizations (of any merchants) as one statement: `insertKeyAndPayment`
 * for many rows, one round trip and one commit (batching across requests, ADR 18). All or nothing:
 * a bad row fails the statement, and the caller runs each row alone. The answers in the rows' order:
 * the payment where its key was new, undefined where the key existed (nothing written for it).
 */
export async function insertKeysAndPayments(
  sql: Queryable,
  rows: readonly { readonly key: Parameters<typeof insertKeyAndPayment>[1]; readonly payment: NewPayment }[],
): Promise<(Payment | undefined)[]> {
  const input = rows.map(({ key, payment }) => ({
    id: payment.id,
    merchant_id: payment.merchantId,
    idempotency_key: key.key,
    request_fingerprint: key.fingerprint,
    next_attempt_at: key.nextAttemptAt?.toISOString() ?? null,
    amount: payment.amount.toString(),
    currency: payment.currency,
    method: payment.method,
    token: payment.token,
    capture_on_authorize: payment.captureOnAuthorize,
    return_url: payment.returnUrl,
    receipt_email: payment.receiptEmail,
    receipt_phone: payment.receiptPhone,
    processor_reference: payment.processorReference,
    metadata: payment.metadata,
    now: payment.now.toISOString(),
  }));
  // Keys in a fixed order, so two batches claiming the same keys cannot deadlock each other.
  const inserted = await sql<PaymentRow[]>`
    with input as (
      select * from jsonb_to_recordset(${sql.json(input as never)}::jsonb) as row (
        id text, merchant_id text, idempotency_key text, request_fingerprint text,
        next_attempt_at timestamptz, amount bigint, currency text, method text, token text,
        capture_on_authorize boolean, return_url text, receipt_email text, receipt_phone text,
        processor_reference text, metadata jsonb, now timestamptz)
    ), claimed as (
      insert into payments.idempotency_keys (merchant_id, idempotency_key, operation, request_fingerprint,
        locked_at, recovery_point, resource_id, next_attempt_at, created_at, updated_at)
      select merchant_id, idempotency_key, 'authorize', request_fingerprint, now, 'phase1_committed', id,
        next_attempt_at, now, now
      from input order by merchant_id, idempotency_key
      on conflict (merchant_id, idempotency_key) do nothing
      returning resource_id
    )
    insert into payments.payments (id, merchant_id, amount, currency, method, token, capture_on_authorize,
      return_url, receipt_email, receipt_phone, status, processor_reference, metadata, created_at, updated_at)
    select input.id, input.merchant_id, input.amount, input.currency, input.method, input.token,
      input.capture_on_authorize, input.return_url, input.receipt_email, input.receipt_phone, 'PENDING',
      input.processor_reference, input.metadata, input.now, input.now
    from input join claimed on claimed.resource_id = input.id
    returning *`;
  const byId = new Map(inserted.map((row) => [row.id, toPayment(row)]));
  return rows.map(({ payment }) => byId.get(payment.id));
}

export async function findPayment(
  sql: Queryable,
  merchantId: string,
  paymentId: string,
): Promise<Payment | undefined> {
  const [row] = await sql<PaymentRow[]>`
    select * from payments.payments where id = ${paymentId} and merchant_id = ${merchantId}`;
  return row ? toPayment(row) : undefined;
}

/** Locks the row until the transaction ends: concurrent operations on one payment queue here. */
export async function lockPayment(
  transaction: TransactionSql,
  merchantId: string,
  paymentId: string,
): Promise<Payment | undefined> {
  const [row] = await transaction<PaymentRow[]>`
    select * from payments.payments where id = ${paymentId} and merchant_id = ${merchantId} for update`;
  return row ? toPayment(row) : undefined;
}

export async function findPaymentByReference(
  sql: Queryable,
  reference: string,
): Promise<Payment | undefined> {
  const [row] = await sql<
    PaymentRow[]
  >`select * from payments.payments where processor_reference = ${reference}`;
  return row ? toPayment(row) : undefined;
}

/** Column changes of a guarded update, by column name. */
export type PaymentChanges = Partial<{
  status: PaymentStatus;
  authorized_amount: bigint;
  captured_amount: bigint;
  refunded_amount: bigint;
  refunding_amount: bigint;
  acquirer_authorization_id: string;
  decline_code: string | null;
  next_action: Payment['nextAction'];
  pending_operation: PendingOperation | null;
  pending_operation_amount: bigint | null;
  expires_at: Date | null;
  authorized_at: Date;
  captured_at: Date;
  voided_at: Date;
  risk: PaymentRisk;
  review: ReviewState | null;
}>;

/**
 * `UPDATE … WHERE id = $id AND status = $expected AND version = $v`; returns the new row, or undefined
 * when another writer got there first (nothing changed). The updates of works sharing a transaction
 * leave together (ADR 18): one statement per set of changed columns.
 */
export async function updatePayment(
  transaction: TransactionSql,
  expected: Payment,
  changes: PaymentChanges,
  now: Date,
): Promise<Payment | undefined> {
  return updatePayments(transaction, { expected, changes, now });
}

interface GuardedUpdate {
  readonly expected: Payment;
  readonly changes: PaymentChanges;
  readonly now: Date;
}

/** Each changeable column's type, for reading a batch's changes from JSON. */
const changeColumnTypes: Record<keyof PaymentChanges, string> = {
  status: 'text',
  authorized_amount: 'bigint',
  captured_amount: 'bigint',
  refunded_amount: 'bigint',
  refunding_amount: 'bigint',
  acquirer_authorization_id: 'text',
  decline_code: 'text',
  next_action: 'jsonb',
  pending_operation: 'text',
  pending_operation_amount: 'bigint',
  expires_at: 'timestamptz',
  authorized_at: 'timestamptz',
  captured_at: 'timestamptz',
  voided_at: 'timestamptz',
  risk: 'jsonb',
  review: 'text',
};

const updatePayments = coalescedWrite(
  async (
    transaction: TransactionSql,
    updates: readonly GuardedUpdate[],
  ): Promise<(Payment | undefined)[]> => {
    if (updates.length === 1) return [await updateOne(transaction, updates[0]!)];
    // Two changes of one payment in one statement would both see it unchanged: the batch fails and
    // each runs alone, where the second misses its guard.
    const ids = new Set(updates.map((update) => update.expected.id));
    assert.ok(ids.size === updates.length, 'a payment is changed twice in one batch');
    // One statement per set of changed columns; each row guarded by its own status and version.
    const groups = new Map<string, GuardedUpdate[]>();
    for (const update of updates) {
      const columns = Object.keys(update.changes).sort().join(',');
      const group = groups.get(columns) ?? [];
      group.push(update);
      groups.set(columns, group);
    }
    const updated = new Map<string, Payment>();
    await Promise.all(
      [...groups].map(async ([columnList, group]) => {
        const columns = columnList === '' ? [] : (columnList.split(',') as (keyof PaymentChanges)[]);
        for (const column of columns) assert.ok(column in changeColumnTypes, `no payment column ${column}`);
        const rows = group.map((update) => ({
          id: update.expected.id,
          expected_status: update.expected.status,
          expected_version: update.expected.version,
          updated_at: update.now.toISOString(),
          ...Object.fromEntries(columns.map((column) => [column, jsonValue(update.changes[column])])),
        }));
        // The column names come from the list above, never from input.
        const assignments = [
          ...columns.map((column) => `${column} = change.${column}`),
          'updated_at = change.updated_at',
        ];
        const definitions = [
          'id text',
          'expected_status text',
          'expected_version integer',
          'updated_at timestamptz',
          ...columns.map((column) => `${column} ${changeColumnTypes[column]}`),
        ];
        const found = await transaction<PaymentRow[]>`
          update payments.payments payment
          set ${transaction.unsafe(assignments.join(', '))}, version = payment.version + 1
          from jsonb_to_recordset(${transaction.json(rows as never)}) as change (${transaction.unsafe(definitions.join(', '))})
          where payment.id = change.id and payment.status = change.expected_status
            and payment.version = change.expected_version
          returning payment.*`;
        for (const row of found) updated.set(row.id, toPayment(row));
      }),
    );
    return updates.map((update) => updated.get(update.expected.id));
  },
);

/** A change as JSON: amounts as strings, dates as ISO strings, objects as they are. */
function jsonValue(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  return value ?? null;
}

async function updateOne(transaction: TransactionSql, update: GuardedUpdate): Promise<Payment | undefined> {
  const { expected, changes, now } = update;
  const columns: Record<string, unknown> = { ...changes, updated_at: now, version: expected.version + 1 };
  if ('next_action' in changes)
    columns.next_action = changes.next_action ? transaction.json(changes.next_action) : null;
  if (changes.risk) columns.risk = transaction.json(changes.risk as never);
  const [row] = await transaction<PaymentRow[]>`
    update payments.payments set ${transaction(columns as never)}
    where id = ${expected.id} and status = ${expected.status} and version = ${expected.version}
    returning *`;
  return row ? toPayment(row) : undefined;
}

export interface PaymentListQuery extends PaymentFilter {
  readonly merchantId: string;
  /** Exclusive position: items strictly older than this (created_at, id). */
  readonly after?: { readonly createdAt: Date; readonly id: string };
  readonly limit: number;
}

export async function listPayments(sql: Queryable, query: PaymentListQuery): Promise<Payment[]> {
  const rows = await sql<PaymentRow[]>`
    select * from payments.payments
    where merchant_id = ${query.merchantId}
      ${query.status ? sql`and status = ${query.status}` : sql``}
      ${query.createdFrom ? sql`and created_at >= ${query.createdFrom}` : sql``}
      ${query.createdTo ? sql`and created_at < ${query.createdTo}` : sql``}
      ${query.method ? sql`and method = ${query.method}` : sql``}
      ${query.currency ? sql`and currency = ${query.currency}` : sql``}
      ${query.amountMin !== undefined ? sql`and amount >= ${query.amountMin.toString()}::bigint` : sql``}
      ${query.amountMax !== undefined ? sql`and amount <= ${query.amountMax.toString()}::bigint` : sql``}
      ${query.tokens ? sql`and token = any(${query.tokens as string[]})` : sql``}
      ${query.email ? sql`and lower(receipt_email) = ${query.email.toLowerCase()}` : sql``}
      ${
        query.reference
          ? sql`and (id = ${query.reference} or exists (
              select 1 from jsonb_each_text(metadata) entry where entry.value = ${query.reference}))`
          : sql``
      }
      ${query.after ? sql`and (created_at, id) < (${query.after.createdAt}, ${query.after.id})` : sql``}
    order by created_at desc, id desc
    limit ${query.limit}`;
  return rows.map(toPayment);
}

/** Authorizations past their validity, oldest first, skipping rows another worker holds. */
export async function lockExpiredAuthorizations(
  transaction: TransactionSql,
  now: Date,
  limit: number,
): Promise<Payment[]> {
  const rows = await transaction<PaymentRow[]>`
    select * from payments.payments
    where status in ('AUTHORIZED', 'REQUIRES_ACTION') and expires_at <= ${now} and pending_operation is null
    order by expires_at
    limit ${limit}
    for update skip locked`;
  return rows.map(toPayment);
}

// ---- refunds ---------------------------------------------------------------------------------------

interface RefundRow {
  id: string;
  payment_id: string;
  merchant_id: string;
  amount: bigint;
  currency: string;
  status: string;
  reason: string | null;
  metadata: Record<string, unknown>;
  processor_reference: string;
  acquirer_refund_id: string | null;
  decline_code: string | null;
  created_at: Date;
  updated_at: Date;
}

function toRefund(row: RefundRow): Refund {
  return {
    id: row.id,
    paymentId: row.payment_id,
    merchantId: row.merchant_id,
    amount: row.amount,
    currency: row.currency as CurrencyCode,
    status: row.status as RefundStatus,
    reason: row.reason,
    metadata: row.metadata,
    processorReference: row.processor_reference,
    acquirerRefundId: row.acquirer_refund_id,
    declineCode: row.decline_code,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function insertRefund(
  transaction: TransactionSql,
  refund: Omit<Refund, 'status' | 'acquirerRefundId' | 'declineCode' | 'createdAt' | 'updatedAt'> & {
    readonly now: Date;
  },
): Promise<Refund> {
  const [row] = await transaction<RefundRow[]>`
    insert into payments.refunds (id, payment_id, merchant_id, amount, currency, status, reason, metadata,
      processor_reference, created_at, updated_at)
    values (${refund.id}, ${refund.paymentId}, ${refund.merchantId}, ${refund.amount}, ${refund.currency},
      'PENDING', ${refund.reason}, ${transaction.json(refund.metadata as never)}, ${refund.processorReference},
      ${refund.now}, ${refund.now})
    returning *`;
  return toRefund(row!);
}

export async function findRefund(
  sql: Queryable,
  merchantId: string,
  refundId: string,
): Promise<Refund | undefined> {
  const [row] = await sql<RefundRow[]>`
    select * from payments.refunds where id = ${refundId} and merchant_id = ${merchantId}`;
  return row ? toRefund(row) : undefined;
}

/** Moves a PENDING refund to its outcome; undefined when it was no longer PENDING. */
export async function settleRefund(
  transaction: TransactionSql,
  refundId: string,
  outcome: { status: 'REFUNDED' | 'FAILED'; acquirerRefundId?: string; declineCode?: string },
  now: Date,
): Promise<Refund | undefined> {
  const [row] = await transaction<RefundRow[]>`
    update payments.refunds
    set status = ${outcome.status}, acquirer_refund_id = ${outcome.acquirerRefundId ?? null},
      decline_code = ${outcome.declineCode ?? null}, updated_at = ${now}
    where id = ${refundId} and status = 'PENDING'
    returning *`;
  return row ? toRefund(row) : undefined;
}

export async function listRefunds(sql: Queryable, merchantId: string, paymentId: string): Promise<Refund[]> {
  const rows = await sql<RefundRow[]>`
    select * from payments.refunds where payment_id = ${paymentId} and merchant_id = ${merchantId}
    order by created_at, id`;
  return rows.map(toRefund);
}

/** The payer's receipt contact of a merchant's payment (undefined when it is not theirs). */
export async function findReceiptContact(
  sql: Queryable,
  merchantId: string,
  paymentId: string,
): Promise<{ email: string | null; phone: string | null } | undefined> {
  const [row] = await sql<{ receipt_email: string | null; receipt_phone: string | null }[]>`
    select receipt_email, receipt_phone from payments.payments
    where id = ${paymentId} and merchant_id = ${merchantId}`;
  return row ? { email: row.receipt_email, phone: row.receipt_phone } : undefined;
}

/** Payments waiting for a review decision, oldest first; every merchant's when merchantId is undefined. */
export async function listPaymentsInReview(
  sql: Queryable,
  merchantId: string | undefined,
  limit: number,
): Promise<Payment[]> {
  const rows = await sql<PaymentRow[]>`
    select * from payments.payments
    where review = 'pending' and status in ('AUTHORIZED', 'REQUIRES_ACTION')
      ${merchantId === undefined ? sql`` : sql`and merchant_id = ${merchantId}`}
    order by created_at, id
    limit ${limit}`;
  return rows.map(toPayment);
}

export interface DailyVolumeRow {
  /** yyyy-mm-dd, UTC. */
  readonly day: string;
  readonly currency: string;
  readonly count: number;
  /** Payments the acquirer authorized (whatever became of them after). */
  readonly authorizedCount: number;
  readonly capturedCount: number;
  readonly capturedAmount: bigint;
  readonly refundedAmount: bigint;
}

/** Payments created since `from`, grouped by UTC day and currency. */
export async function dailyVolume(sql: Queryable, merchantId: string, from: Date): Promise<DailyVolumeRow[]> {
  const rows = await sql<
    {
      day: string;
      currency: string;
      count: number;
      authorized_count: number;
      captured_count: number;
      captured: string;
      refunded: string;
    }[]
  >`
    select to_char(created_at at time zone 'UTC', 'YYYY-MM-DD') as day, currency,
           count(*)::int as count, count(*) filter (where authorized_at is not null)::int as authorized_count,
           count(*) filter (where captured_amount > 0)::int as captured_count,
           sum(captured_amount)::text as captured, sum(refunded_amount)::text as refunded
    from payments.payments
    where merchant_id = ${merchantId} and created_at >= ${from}
    group by 1, 2
    order by 1, 2`;
  return rows.map((row) => ({
    day: row.day,
    currency: row.currency,
    count: row.count,
    authorizedCount: row.authorized_count,
    capturedCount: row.captured_count,
    capturedAmount: BigInt(row.captured),
    refundedAmount: BigInt(row.refunded),
  }));
}
