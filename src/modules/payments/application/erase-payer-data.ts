// Erasing a payer's personal data from a payment (docs/personal-data.md): the receipt email and
// phone are removed, and `payment.payer_data_erased.v1` (no personal data) tells the notifications
// module to erase the receipts it holds and the fraud module the payer's email and IP it screened,
// in the same transaction as the change. Amounts, states and
// the ledger stay: they are the merchant's financial records, not the payer's contact data.
import type { PaymentsDependencies } from './dependencies.ts';
import { paymentNotFound } from './payment-errors.ts';

/** True when something was erased now; false when nothing was left to erase. */
export async function erasePayerData(
  dependencies: PaymentsDependencies,
  merchantId: string,
  paymentId: string,
): Promise<boolean> {
  return dependencies.sql.begin(async (transaction) => {
    const [row] = await transaction<
      { receipt_email: string | null; receipt_phone: string | null; screened: boolean }[]
    >`
      select receipt_email, receipt_phone,
        (risk is null or not risk ? 'payerDataErased') as screened
      from payments.payments
      where id = ${paymentId} and merchant_id = ${merchantId} for update`;
    if (!row) throw paymentNotFound();
    // The fraud screening may hold the payer's email and IP (ADR 21), even for a payment not finished
    // yet: the event tells it to erase them. `risk.payerDataErased` makes a repeat change nothing.
    if (row.receipt_email === null && row.receipt_phone === null && !row.screened) return false;
    const now = dependencies.clock.now();
    await transaction`
      update payments.payments set receipt_email = null, receipt_phone = null, updated_at = ${now},
        risk = coalesce(risk, '{}'::jsonb) || '{"payerDataErased": true}'::jsonb
      where id = ${paymentId} and merchant_id = ${merchantId}`;
    await dependencies.events.stage(transaction, {
      type: 'payment.payer_data_erased.v1',
      aggregateId: paymentId,
      merchantId,
      payload: { paymentId },
      occurredAt: now,
    });
    return true;
  });
}
