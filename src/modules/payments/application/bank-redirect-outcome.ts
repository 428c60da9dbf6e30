// The acquirer notified an asynchronous outcome (a bank redirect decided by the payer). The
// notification is only a hint: PayFlow asks the acquirer by reference for the truth, then moves the
// payment out of REQUIRES_ACTION in one transaction with its hold and event.
import { findPaymentByReference, lockPayment } from '../infra/payment-repository.ts';
import { applyAuthorization } from './apply-authorization.ts';
import type { PaymentsDependencies } from './dependencies.ts';

export type NotificationResult = 'applied' | 'ignored' | 'unknown';

export async function applyAcquirerNotification(
  dependencies: PaymentsDependencies,
  reference: string,
): Promise<NotificationResult> {
  const payment = await findPaymentByReference(dependencies.sql, reference);
  if (!payment || payment.status !== 'REQUIRES_ACTION') return 'ignored';
  const inquiry = await dependencies.processors.operations.inquireAuthorization(reference);
  if (inquiry.type !== 'found' || inquiry.outcome.type === 'unknown') return 'unknown';
  const outcome = inquiry.outcome;
  if (outcome.type === 'requires_action') return 'ignored';
  return dependencies.sql.begin(async (transaction) => {
    const current = await lockPayment(transaction, payment.merchantId, payment.id);
    if (current?.status !== 'REQUIRES_ACTION') return 'ignored';
    await applyAuthorization(transaction, dependencies, current, outcome, undefined);
    return 'applied';
  });
}
