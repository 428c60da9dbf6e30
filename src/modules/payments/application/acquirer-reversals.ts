// Voids PayFlow owes the acquirer for payments it finished without taking the money
// (docs/adr/0014-acquirer-reversals.md). Owed inside the transaction that finishes a waiting bank
// redirect (void, expiry), expires an AUTHORIZED payment (its hold released in that transaction) or
// records an approval notified too late; sent outside any transaction under `pay_….reversal` by the
// request that owed it and by the owed-operations job (owed-operations.ts) until the acquirer
// answers. Outside call: the acquirer's void. Never a change of the payment, never a ledger entry.
import type { TransactionSql } from '../../../platform/db/client.ts';
import { references, type Payment } from '../domain/payment.ts';
import {
  completeOwedOperation,
  insertOwedOperation,
  recordLateApproval,
  type OwedOperation,
  type ReversalReason,
} from '../infra/owed-operation-repository.ts';
import type { OwedSendResult, PaymentsDependencies } from './dependencies.ts';
import type { OperationOutcome } from './ports.ts';

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
  await insertOwedOperation(transaction, {
    paymentId: payment.id,
    operation: 'void',
    merchantId: payment.merchantId,
    acquirerAuthorizationId,
    reference: references.reversal(payment.id),
    reason,
    amount: null,
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
): Promise<OwedOperation> {
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

/** Sends one owed void and closes its row with the answer, or asks for a retry. */
export async function sendReversal(
  dependencies: PaymentsDependencies,
  reversal: OwedOperation,
): Promise<OwedSendResult> {
  const outcome = await dependencies.processors.operations.void(
    reversal.acquirerAuthorizationId,
    reversal.reference,
  );
  const decision = decideReversal(outcome);
  const now = dependencies.clock.now();
  const details = { paymentId: reversal.paymentId, reason: reversal.reason };
  switch (decision.type) {
    case 'reversed':
      await completeOwedOperation(
        dependencies.sql,
        reversal,
        { status: 'reversed', acquirerOperationId: decision.acquirerVoidId },
        now,
      );
      dependencies.log.info(details, 'authorization voided at the acquirer');
      return { type: 'done' };
    case 'nothing_to_reverse':
    case 'manual_review':
      await completeOwedOperation(
        dependencies.sql,
        reversal,
        { status: decision.type, declineCode: decision.declineCode },
        now,
      );
      if (decision.type === 'manual_review')
        dependencies.log.error(
          { ...details, declineCode: decision.declineCode },
          'reversal refused: manual review',
        );
      return { type: 'done' };
    case 'retry':
      return decision;
    default:
      return decision satisfies never;
  }
}
