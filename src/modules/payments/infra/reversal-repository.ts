// SQL for payments.acquirer_reversals: the voids PayFlow owes the acquirer for payments it finished
// without taking the money. A row is created in the transaction that finishes the payment (a void or
// expiry, also of an AUTHORIZED payment) or that records a late approval, claimed with a lease by
// whoever sends it, and closed with the answer.
import type { Queryable, TransactionSql } from '../../../platform/db/client.ts';

export type ReversalReason = 'void' | 'expiry' | 'late_approval';
export type ReversalStatus = 'pending' | 'reversed' | 'nothing_to_reverse' | 'manual_review';

export interface AcquirerReversal {
  readonly paymentId: string;
  readonly merchantId: string;
  readonly acquirerAuthorizationId: string;
  readonly reference: string;
  readonly reason: ReversalReason;
  readonly status: ReversalStatus;
  readonly attempts: number;
  readonly lateApprovals: number;
}

interface ReversalRow {
  payment_id: string;
  merchant_id: string;
  acquirer_authorization_id: string;
  reference: string;
  reason: string;
  status: string;
  attempts: number;
  late_approvals: number;
}

function toReversal(row: ReversalRow): AcquirerReversal {
  return {
    paymentId: row.payment_id,
    merchantId: row.merchant_id,
    acquirerAuthorizationId: row.acquirer_authorization_id,
    reference: row.reference,
    reason: row.reason as ReversalReason,
    status: row.status as ReversalStatus,
    attempts: row.attempts,
    lateApprovals: row.late_approvals,
  };
}

/** Owes a reversal for the payment, due at once; a payment owes at most one (a second changes nothing). */
export async function insertReversal(
  transaction: TransactionSql,
  reversal: {
    readonly paymentId: string;
    readonly merchantId: string;
    readonly acquirerAuthorizationId: string;
    readonly reference: string;
    readonly reason: ReversalReason;
    readonly now: Date;
  },
): Promise<void> {
  await transaction`
    insert into payments.acquirer_reversals (payment_id, merchant_id, acquirer_authorization_id, reference,
      reason, status, next_attempt_at, created_at, updated_at)
    values (${reversal.paymentId}, ${reversal.merchantId}, ${reversal.acquirerAuthorizationId},
      ${reversal.reference}, ${reversal.reason}, 'pending', ${reversal.now}, ${reversal.now}, ${reversal.now})
    on conflict (payment_id) do nothing`;
}

/**
 * Counts an approval notified after the payment was finished and makes a pending reversal due now
 * (funds are held from now on: waiting out a backoff would hold them longer); returns the row.
 */
export async function recordLateApproval(
  transaction: TransactionSql,
  paymentId: string,
  now: Date,
): Promise<AcquirerReversal | undefined> {
  const [row] = await transaction<ReversalRow[]>`
    update payments.acquirer_reversals
    set late_approvals = late_approvals + 1, last_late_approval_at = ${now}, updated_at = ${now},
      next_attempt_at = case when status = 'pending' then least(next_attempt_at, ${now}) end
    where payment_id = ${paymentId}
    returning *`;
  return row ? toReversal(row) : undefined;
}

/**
 * Claims pending reversals that are due (all of them, or one payment's), pushing their next attempt
 * past `leaseUntil` so no other worker sends them meanwhile; a worker that dies leaves them due again.
 */
export async function claimDueReversals(
  sql: Queryable,
  now: Date,
  leaseUntil: Date,
  limit: number,
  paymentId?: string,
): Promise<AcquirerReversal[]> {
  const rows = await sql<ReversalRow[]>`
    update payments.acquirer_reversals set next_attempt_at = ${leaseUntil}, updated_at = ${now}
    where payment_id in (
      select payment_id from payments.acquirer_reversals
      where status = 'pending' and next_attempt_at <= ${now}
        ${paymentId === undefined ? sql`` : sql`and payment_id = ${paymentId}`}
      order by next_attempt_at
      limit ${limit}
      for update skip locked)
    returning *`;
  return rows.map(toReversal);
}

/** Closes a claimed reversal with the acquirer's answer. */
export async function completeReversal(
  sql: Queryable,
  paymentId: string,
  outcome:
    | { readonly status: 'reversed'; readonly acquirerVoidId: string }
    | { readonly status: 'nothing_to_reverse' | 'manual_review'; readonly declineCode: string },
  now: Date,
): Promise<void> {
  const voidId = outcome.status === 'reversed' ? outcome.acquirerVoidId : null;
  const declineCode = outcome.status === 'reversed' ? null : outcome.declineCode;
  const completedAt = outcome.status === 'manual_review' ? null : now;
  await sql`
    update payments.acquirer_reversals
    set status = ${outcome.status}, acquirer_void_id = ${voidId}, decline_code = ${declineCode},
      next_attempt_at = null, completed_at = ${completedAt}, last_error = null, updated_at = ${now}
    where payment_id = ${paymentId} and status = 'pending'`;
}

/** Records a failed attempt: due again at `nextAttemptAt`, or left for manual review once it is null. */
export async function rescheduleReversal(
  sql: Queryable,
  paymentId: string,
  attempts: number,
  nextAttemptAt: Date | null,
  error: string,
  now: Date,
): Promise<void> {
  await sql`
    update payments.acquirer_reversals
    set attempts = ${attempts}, next_attempt_at = ${nextAttemptAt}, last_error = ${error.slice(0, 200)},
      status = ${nextAttemptAt === null ? 'manual_review' : 'pending'}, updated_at = ${now}
    where payment_id = ${paymentId} and status = 'pending'`;
}
