// SQL for payments.owed_acquirer_operations: the voids and captures PayFlow owes the acquirer (ADR 14,
// ADR 17). A row is created in the transaction that owes it (a void or expiry, a late approval, the
// approval of a bank redirect created with `capture: true`), claimed with a lease by whoever sends it,
// and closed with the answer.
import type { Queryable, TransactionSql } from '../../../platform/db/client.ts';

export type OwedOperationKind = 'void' | 'capture';
export type ReversalReason = 'void' | 'expiry' | 'late_approval';
export type OwedOperationReason = ReversalReason | 'capture_on_approval';
export type OwedOperationStatus =
  'pending' | 'reversed' | 'nothing_to_reverse' | 'captured' | 'declined' | 'cancelled' | 'manual_review';

export interface OwedOperation {
  readonly paymentId: string;
  readonly operation: OwedOperationKind;
  readonly merchantId: string;
  readonly acquirerAuthorizationId: string;
  readonly reference: string;
  readonly reason: OwedOperationReason;
  /** What a capture takes; null for a void. */
  readonly amount: bigint | null;
  readonly status: OwedOperationStatus;
  readonly attempts: number;
  readonly lateApprovals: number;
}

interface OwedOperationRow {
  payment_id: string;
  operation: string;
  merchant_id: string;
  acquirer_authorization_id: string;
  reference: string;
  reason: string;
  amount: bigint | null;
  status: string;
  attempts: number;
  late_approvals: number;
}

function toOwedOperation(row: OwedOperationRow): OwedOperation {
  return {
    paymentId: row.payment_id,
    operation: row.operation as OwedOperationKind,
    merchantId: row.merchant_id,
    acquirerAuthorizationId: row.acquirer_authorization_id,
    reference: row.reference,
    reason: row.reason as OwedOperationReason,
    amount: row.amount,
    status: row.status as OwedOperationStatus,
    attempts: row.attempts,
    lateApprovals: row.late_approvals,
  };
}

/**
 * Owes an operation for the payment, due at once; a payment owes at most one of each kind (a second
 * changes nothing).
 */
export async function insertOwedOperation(
  transaction: TransactionSql,
  owed: Omit<OwedOperation, 'status' | 'attempts' | 'lateApprovals'> & { readonly now: Date },
): Promise<void> {
  await transaction`
    insert into payments.owed_acquirer_operations (payment_id, operation, merchant_id,
      acquirer_authorization_id, reference, reason, amount, status, next_attempt_at, created_at, updated_at)
    values (${owed.paymentId}, ${owed.operation}, ${owed.merchantId}, ${owed.acquirerAuthorizationId},
      ${owed.reference}, ${owed.reason}, ${owed.amount}, 'pending', ${owed.now}, ${owed.now}, ${owed.now})
    on conflict (payment_id, operation, merchant_id) do nothing`;
}

/**
 * Counts an approval notified after the payment was finished and makes a pending reversal due now
 * (funds are held from now on: waiting out a backoff would hold them longer); returns the row.
 */
export async function recordLateApproval(
  transaction: TransactionSql,
  paymentId: string,
  now: Date,
): Promise<OwedOperation | undefined> {
  const [row] = await transaction<OwedOperationRow[]>`
    update payments.owed_acquirer_operations
    set late_approvals = late_approvals + 1, last_late_approval_at = ${now}, updated_at = ${now},
      next_attempt_at = case when status = 'pending' then least(next_attempt_at, ${now}) end
    where payment_id = ${paymentId} and operation = 'void'
    returning *`;
  return row ? toOwedOperation(row) : undefined;
}

/**
 * Claims pending operations that are due (all of them, or one payment's), pushing their next attempt
 * past `leaseUntil` so no other worker sends them meanwhile; a worker that dies leaves them due again.
 */
export async function claimDueOwedOperations(
  sql: Queryable,
  now: Date,
  leaseUntil: Date,
  limit: number,
  only?: { readonly paymentId: string; readonly operation: OwedOperationKind },
): Promise<OwedOperation[]> {
  const rows = await sql<OwedOperationRow[]>`
    update payments.owed_acquirer_operations set next_attempt_at = ${leaseUntil}, updated_at = ${now}
    where (payment_id, operation) in (
      select payment_id, operation from payments.owed_acquirer_operations
      where status = 'pending' and next_attempt_at <= ${now}
        ${only === undefined ? sql`` : sql`and payment_id = ${only.paymentId} and operation = ${only.operation}`}
      order by next_attempt_at
      limit ${limit}
      for update skip locked)
    returning *`;
  return rows.map(toOwedOperation);
}

/** How a pending operation ends. */
export type OwedOperationCompletion =
  | { readonly status: 'reversed' | 'captured'; readonly acquirerOperationId: string }
  | { readonly status: 'nothing_to_reverse' | 'declined' | 'manual_review'; readonly declineCode: string }
  | { readonly status: 'cancelled' };

/** Closes a claimed operation with the acquirer's answer (or without one: cancelled). */
export async function completeOwedOperation(
  sql: Queryable,
  owed: { readonly paymentId: string; readonly operation: OwedOperationKind },
  completion: OwedOperationCompletion,
  now: Date,
): Promise<void> {
  const operationId = 'acquirerOperationId' in completion ? completion.acquirerOperationId : null;
  const declineCode = 'declineCode' in completion ? completion.declineCode : null;
  const completedAt = completion.status === 'manual_review' ? null : now;
  await sql`
    update payments.owed_acquirer_operations
    set status = ${completion.status}, acquirer_operation_id = ${operationId}, decline_code = ${declineCode},
      next_attempt_at = null, completed_at = ${completedAt}, last_error = null, updated_at = ${now}
    where payment_id = ${owed.paymentId} and operation = ${owed.operation} and status = 'pending'`;
}

/** Records a failed attempt: due again at `nextAttemptAt`, or left for manual review once it is null. */
export async function rescheduleOwedOperation(
  sql: Queryable,
  owed: { readonly paymentId: string; readonly operation: OwedOperationKind },
  attempts: number,
  nextAttemptAt: Date | null,
  error: string,
  now: Date,
): Promise<void> {
  await sql`
    update payments.owed_acquirer_operations
    set attempts = ${attempts}, next_attempt_at = ${nextAttemptAt}, last_error = ${error.slice(0, 200)},
      status = ${nextAttemptAt === null ? 'manual_review' : 'pending'}, updated_at = ${now}
    where payment_id = ${owed.paymentId} and operation = ${owed.operation} and status = 'pending'`;
}
