// The capture PayFlow owes the acquirer for a bank redirect created with `capture: true` (ADR 17). It
// is owed by the transaction that makes the payment AUTHORIZED when its payer approves (see
// applyAuthorization: the payment then carries pending_operation = 'capture', so no merchant capture,
// void or expiry can cross it). Sending: outside any transaction, the acquirer's capture of the full
// authorized amount under `pay_….approval-capture`; then one transaction locks the payment and
// records the answer exactly as a merchant capture does (recordCapture: CAPTURED, capture journal,
// `payment.captured.v1`) and closes the row. A decline clears the pending capture: the payment stays
// AUTHORIZED for the merchant to capture or void, and the row keeps the decline code.
import assert from 'node:assert/strict';
import { findPayment, lockPayment } from '../infra/payment-repository.ts';
import { completeOwedOperation, type OwedOperation } from '../infra/owed-operation-repository.ts';
import { recordCapture } from './capture-payment.ts';
import type { OwedSendResult, PaymentsDependencies } from './dependencies.ts';
import type { Payment } from '../domain/payment.ts';

/** Whether the payment still waits for the capture owed on its approval. */
function awaitsOwedCapture(payment: Payment | undefined): boolean {
  return payment?.status === 'AUTHORIZED' && payment.pendingOperation === 'capture';
}

export async function sendOwedCapture(
  dependencies: PaymentsDependencies,
  owed: OwedOperation,
): Promise<OwedSendResult> {
  assert.ok(owed.operation === 'capture' && owed.amount !== null, 'an owed capture has an amount');
  const details = { paymentId: owed.paymentId, operation: owed.operation };
  const payment = await findPayment(dependencies.sql, owed.merchantId, owed.paymentId);
  if (!awaitsOwedCapture(payment)) {
    // Nothing else clears an owed capture's pending mark; if something did, sending would capture a
    // payment PayFlow no longer considers capturable.
    await completeOwedOperation(dependencies.sql, owed, { status: 'cancelled' }, dependencies.clock.now());
    dependencies.log.error(
      { ...details, status: payment?.status },
      'owed capture cancelled: the payment no longer awaits it',
    );
    return { type: 'done' };
  }
  const outcome = await dependencies.processors.operations.capture(
    owed.acquirerAuthorizationId,
    owed.reference,
    owed.amount,
  );
  if (outcome.type === 'unknown') return { type: 'retry', reason: outcome.reason };
  if (outcome.type === 'pending')
    return { type: 'retry', reason: 'the acquirer answered a capture as pending' };
  await dependencies.sql.begin(async (transaction) => {
    const current = await lockPayment(transaction, owed.merchantId, owed.paymentId);
    // Another sender of the same row (a lease that ran out) recorded the acquirer's answer first.
    if (!current || !awaitsOwedCapture(current)) return;
    await recordCapture(transaction, dependencies, current, outcome);
    const now = dependencies.clock.now();
    if (outcome.type === 'succeeded') {
      await completeOwedOperation(
        transaction,
        owed,
        { status: 'captured', acquirerOperationId: outcome.operationId },
        now,
      );
      return;
    }
    await completeOwedOperation(
      transaction,
      owed,
      { status: 'declined', declineCode: outcome.declineCode },
      now,
    );
  });
  if (outcome.type === 'succeeded') dependencies.log.info(details, 'owed capture made: payment CAPTURED');
  else
    dependencies.log.error(
      { ...details, declineCode: outcome.declineCode },
      'owed capture declined: the payment stays AUTHORIZED for the merchant to capture or void',
    );
  return { type: 'done' };
}
