// Voids PayFlow owes the acquirer for payments it finished without taking the money
// (docs/adr/0014-acquirer-reversals.md). Owed inside the transaction that finishes a waiting bank
// redirect (void, expiry), expires an AUTHORIZED payment (its hold released in that transaction) or
// records an approval notified too late; sent outside any transaction
// under `pay_….reversal` by the request that owed it and by the reversal job until the acquirer
// answers. Outside call: the acquirer's void. Never a change of the payment, never a ledger entry.
import type { TransactionSql } from '../../../platform/db/client.ts';
import { references, type Payment } from '../domain/payment.ts';
import { nextAttemptAt } from '../domain/retry-schedule.ts';
import {
  claimDueReversals,
  completeReversal,
  insertReversal,
  recordLateApproval,
  rescheduleReversal,
  type AcquirerReversal,
  type ReversalReason,
} from '../infra/reversal-repository.ts';
import type { PaymentsDependencies } from './dependencies.ts';
import type { OperationOutcome } from './ports.ts';

/** Reversals sent per job run. */
export const reversalBatchMax = 50;

/** What to do with the acquirer's answer to a reversal void. */
export type ReversalDecision =
  | { readonly type: 'reversed'; readonly acquirerVoidId: string }
  /** The acquirer holds nothing under the authorization: already voided, or never approved. */
  | { readonly type: 'nothing_to_reverse'; readonly declineCode: string }
  /** An answer no retry can change and PayFlow cannot act on (a captured authorization, an unknown one). */
  | { readonly type: 'manual_review'; readonly declineCode: string }
  | { readonly type: 'retry'; readonly reason: string };

const nothingHeldDeclineCodes: ReadonlySet<string> = new Set([
  'authorization_voided',
  'authorization_not_approved',
]);

export function decideReversal(outcome: OperationOutcome): ReversalDecision {
  switch (outcome.type) {
    case 'succeeded':
      return { type: 'reversed', acquirerVoidId: outcome.operationId };
    case 'declined':
      return nothingHeldDeclineCodes.has(outcome.declineCode)
        ? { type: 'nothing_to_reverse', declineCode: outcome.declineCode }
        : { type: 'manual_review', declineCode: outcome.declineCode };
    case 'pending':
      return { type: 'retry', reason: 'the acquirer answered a void as pending' };
    case 'unknown':
      return { type: 'retry', reason: outcome.reason };
    default:
      return outcome satisfies never;
  }
}

/** Owes the acquirer a void of the payment's authorization, in the caller's transaction. */
export async function oweReversal(
  transaction: TransactionSql,
  dependencies: PaymentsDependencies,
  payment: Payment,
  acquirerAuthorizationId: string,
  reason: ReversalReason,
): Promise<void> {
  await insertReversal(transaction, {
    paymentId: payment.id,
    merchantId: payment.merchantId,
    acquirerAuthorizationId,
    reference: references.reversal(payment.id),
    reason,
    now: dependencies.clock.now(),
  });
}

/**
 * An approval the acquirer notified for a payment PayFlow had already finished without funds: owe a
 * void of it (unless one is owed already) and count the notification. Returns the reversal's status.
 */
export async function oweReversalOfLateApproval(
  transaction: TransactionSql,
  dependencies: PaymentsDependencies,
  payment: Payment,
  acquirerAuthorizationId: string,
): Promise<AcquirerReversal> {
  await oweReversal(transaction, dependencies, payment, acquirerAuthorizationId, 'late_approval');
  const reversal = await recordLateApproval(transaction, payment.id, dependencies.clock.now());
  if (!reversal) throw new Error(`the reversal of payment ${payment.id} vanished`);
  dependencies.log.warn(
    {
      paymentId: payment.id,
      status: payment.status,
      reversal: reversal.status,
      lateApprovals: reversal.lateApprovals,
    },
    'the acquirer approved a finished payment: its authorization is voided, the payment does not change',
  );
  return reversal;
}

async function sendReversal(dependencies: PaymentsDependencies, reversal: AcquirerReversal): Promise<void> {
  const outcome = await dependencies.processors.operations.void(
    reversal.acquirerAuthorizationId,
    reversal.reference,
  );
  const decision = decideReversal(outcome);
  const now = dependencies.clock.now();
  const details = { paymentId: reversal.paymentId, reason: reversal.reason };
  switch (decision.type) {
    case 'reversed':
      await completeReversal(dependencies.sql, reversal.paymentId, { status: 'reversed', ...decision }, now);
      dependencies.log.info(details, 'authorization voided at the acquirer');
      return;
    case 'nothing_to_reverse':
    case 'manual_review':
      await completeReversal(
        dependencies.sql,
        reversal.paymentId,
        { status: decision.type, declineCode: decision.declineCode },
        now,
      );
      if (decision.type === 'manual_review')
        dependencies.log.error(
          { ...details, declineCode: decision.declineCode },
          'reversal refused: manual review',
        );
      return;
    case 'retry': {
      const attempts = reversal.attempts + 1;
      const next = nextAttemptAt(dependencies.settings.inquiryScheduleMs, attempts - 1, now);
      await rescheduleReversal(dependencies.sql, reversal.paymentId, attempts, next, decision.reason, now);
      const retry = { ...details, attempts, nextAttemptAt: next, reason: decision.reason };
      if (next === null)
        dependencies.log.error(retry, 'reversal unanswered after the whole schedule: manual review');
      else dependencies.log.warn(retry, 'reversal unanswered; it will be sent again');
      return;
    }
    default:
      return decision satisfies never;
  }
}

/**
 * Sends the due reversals (or the one of `paymentId`, if due); returns how many were claimed. On
 * shutdown (`signal`) the rest of the batch is left to its lease: due again once it runs out.
 */
export async function sendDueReversals(
  dependencies: PaymentsDependencies,
  paymentId?: string,
  signal?: AbortSignal,
): Promise<number> {
  const now = dependencies.clock.now();
  const leaseUntil = new Date(now.getTime() + dependencies.settings.keyLockTimeoutMs);
  const claimed = await claimDueReversals(dependencies.sql, now, leaseUntil, reversalBatchMax, paymentId);
  for (const reversal of claimed) {
    if (signal?.aborted) break;
    try {
      await sendReversal(dependencies, reversal);
    } catch (error) {
      // The lease runs out and the job sends it again; the acquirer replays under the reference.
      dependencies.log.error({ err: error, paymentId: reversal.paymentId }, 'reversal could not be sent');
    }
  }
  return claimed.length;
}

/** Right after the reversal was owed: one attempt now; the job keeps trying if it fails. */
export async function sendReversalNow(dependencies: PaymentsDependencies, paymentId: string): Promise<void> {
  try {
    await sendDueReversals(dependencies, paymentId);
  } catch (error) {
    dependencies.log.error({ err: error, paymentId }, 'reversal not sent now; the reversal job will');
  }
}
