// The operations PayFlow owes the acquirer (payments.owed_acquirer_operations; ADR 14, ADR 17): voids
// of authorizations it finished without taking the money, and captures of bank redirects created with
// `capture: true` once their payer approved. Owed inside the transaction that decides them; sent
// outside any transaction, right after that commit and by the job `payments.owed-acquirer-operations`,
// under one reference per payment and operation, on PAYMENT_INQUIRY_SCHEDULE until the acquirer answers.
import { nextAttemptAt } from '../domain/retry-schedule.ts';
import {
  claimDueOwedOperations,
  rescheduleOwedOperation,
  type OwedOperation,
  type OwedOperationKind,
} from '../infra/owed-operation-repository.ts';
import { sendReversal } from './acquirer-reversals.ts';
import type { OwedSendResult, PaymentsDependencies } from './dependencies.ts';
import { sendOwedCapture } from './owed-captures.ts';

/** Owed operations sent per job run. */
export const owedOperationBatchMax = 50;

function send(dependencies: PaymentsDependencies, owed: OwedOperation): Promise<OwedSendResult> {
  switch (owed.operation) {
    case 'void':
      return sendReversal(dependencies, owed);
    case 'capture':
      return sendOwedCapture(dependencies, owed);
    default:
      return owed.operation satisfies never;
  }
}

async function sendOne(dependencies: PaymentsDependencies, owed: OwedOperation): Promise<void> {
  const result = await send(dependencies, owed);
  if (result.type === 'done') return;
  const now = dependencies.clock.now();
  const attempts = owed.attempts + 1;
  const next = nextAttemptAt(dependencies.settings.inquiryScheduleMs, attempts - 1, now);
  await rescheduleOwedOperation(dependencies.sql, owed, attempts, next, result.reason, now);
  const retry = {
    paymentId: owed.paymentId,
    operation: owed.operation,
    reason: owed.reason,
    attempts,
    nextAttemptAt: next,
    error: result.reason,
  };
  if (next === null)
    dependencies.log.error(
      retry,
      'owed acquirer operation unanswered after the whole schedule: manual review',
    );
  else dependencies.log.warn(retry, 'owed acquirer operation unanswered; it will be sent again');
}

/**
 * Sends the due owed operations (or one payment's, if due); returns how many were claimed. On
 * shutdown (`signal`) the rest of the batch is left to its lease: due again once it runs out.
 */
export async function sendDueOwedOperations(
  dependencies: PaymentsDependencies,
  only?: { readonly paymentId: string; readonly operation: OwedOperationKind },
  signal?: AbortSignal,
): Promise<number> {
  const now = dependencies.clock.now();
  const leaseUntil = new Date(now.getTime() + dependencies.settings.keyLockTimeoutMs);
  const claimed = await claimDueOwedOperations(
    dependencies.sql,
    now,
    leaseUntil,
    owedOperationBatchMax,
    only,
  );
  for (const owed of claimed) {
    if (signal?.aborted) break;
    try {
      await sendOne(dependencies, owed);
    } catch (error) {
      // The lease runs out and the job sends it again; the acquirer replays under the reference.
      dependencies.log.error(
        { err: error, paymentId: owed.paymentId, operation: owed.operation },
        'owed acquirer operation could not be sent',
      );
    }
  }
  return claimed.length;
}

/** Right after the operation was owed: one attempt now; the job keeps trying if it fails. */
export async function sendOwedOperationNow(
  dependencies: PaymentsDependencies,
  paymentId: string,
  operation: OwedOperationKind,
): Promise<void> {
  try {
    await sendDueOwedOperations(dependencies, { paymentId, operation });
  } catch (error) {
    dependencies.log.error(
      { err: error, paymentId, operation },
      'owed acquirer operation not sent now; the job will',
    );
  }
}
