// The acquirer notified an asynchronous outcome (a bank redirect decided by the payer). The
// notification is only a hint: PayFlow asks the acquirer by reference for the truth, then moves the
// payment out of REQUIRES_ACTION in one transaction with its hold and event. An approval of a payment
// PayFlow already finished without funds (VOIDED, EXPIRED, FAILED) changes nothing on the payment or
// the ledger: it owes the acquirer a void of that authorization (once), sent right after the commit.
// The approval of a redirect created with `capture: true` owes its capture (ADR 17), sent likewise.
import type { PaymentStatus } from '../domain/payment-state.ts';
import type { Payment } from '../domain/payment.ts';
import { findPaymentByReference, lockPayment } from '../infra/payment-repository.ts';
import { oweReversalOfLateApproval } from './acquirer-reversals.ts';
import { applyAuthorization, capturesOnApproval } from './apply-authorization.ts';
import type { PaymentsDependencies } from './dependencies.ts';
import { sendOwedOperationNow } from './owed-operations.ts';

export type NotificationResult = 'applied' | 'reversal_owed' | 'ignored' | 'unknown';

const finishedWithoutFundsStatuses: ReadonlySet<PaymentStatus> = new Set(['VOIDED', 'EXPIRED', 'FAILED']);

/** Finished before any authorization was applied: an approval now would hold funds nobody takes. */
function finishedWithoutFunds(payment: Payment): boolean {
  return finishedWithoutFundsStatuses.has(payment.status) && payment.authorizedAt === null;
}

export async function applyAcquirerNotification(
  dependencies: PaymentsDependencies,
  reference: string,
): Promise<NotificationResult> {
  const payment = await findPaymentByReference(dependencies.sql, reference);
  if (!payment || (payment.status !== 'REQUIRES_ACTION' && !finishedWithoutFunds(payment))) return 'ignored';
  const inquiry = await dependencies.processors.operations.inquireAuthorization(reference);
  if (inquiry.type !== 'found' || inquiry.outcome.type === 'unknown') return 'unknown';
  const outcome = inquiry.outcome;
  if (outcome.type === 'requires_action') return 'ignored';
  const result = await dependencies.sql.begin(async (transaction): Promise<NotificationResult> => {
    const current = await lockPayment(transaction, payment.merchantId, payment.id);
    if (!current) return 'ignored';
    if (current.status === 'REQUIRES_ACTION') {
      await applyAuthorization(transaction, dependencies, current, outcome, undefined);
      return 'applied';
    }
    if (outcome.type !== 'approved' || !finishedWithoutFunds(current)) return 'ignored';
    await oweReversalOfLateApproval(transaction, dependencies, current, outcome.acquirerAuthorizationId);
    return 'reversal_owed';
  });
  if (result === 'reversal_owed') await sendOwedOperationNow(dependencies, payment.id, 'void');
  // An approval of a `capture: true` redirect owed its capture in that transaction: one attempt now.
  if (result === 'applied' && capturesOnApproval(payment))
    await sendOwedOperationNow(dependencies, payment.id, 'capture');
  return result;
}
