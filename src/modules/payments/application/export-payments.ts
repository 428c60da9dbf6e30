// GET /payments.csv: every payment the filter finds, newest first, as CSV streamed a page at a time
// (phases per page: read exportPageRows payments → one vault call for brands and last 4 → lines).
// Amounts are exact decimal strings in major units; a card appears as brand and last 4, never more.
import { csvLine } from '../../../platform/csv.ts';
import { formatMajor } from '../../../platform/money.ts';
import type { Payment } from '../domain/payment.ts';
import { listPayments } from '../infra/payment-repository.ts';
import type { PaymentsDependencies } from './dependencies.ts';
import { resolveFilter, withCards, type ListInput } from './read-payments.ts';

/** Rows read per database query (and per vault call) while streaming. */
export const exportPageRows = 500;

export const exportColumns = [
  'payment_id',
  'created_at',
  'status',
  'method',
  'card_brand',
  'card_last4',
  'currency',
  'amount',
  'authorized_amount',
  'captured_amount',
  'refunded_amount',
  'decline_code',
  'risk_decision',
  'risk_score',
  'review',
] as const;

function line(payment: Payment, card: { brand: string; last4: string } | undefined): string {
  const money = (amount: bigint) => formatMajor(amount, payment.currency);
  return csvLine([
    payment.id,
    payment.createdAt.toISOString(),
    payment.status,
    payment.method,
    card?.brand,
    card?.last4,
    payment.currency,
    money(payment.amount),
    money(payment.authorizedAmount),
    money(payment.capturedAmount),
    money(payment.refundedAmount),
    payment.declineCode,
    payment.risk?.decision,
    payment.risk?.score,
    payment.review,
  ]);
}

/** The CSV, header first. The filter is resolved before the first line, so its errors are HTTP errors. */
export async function exportPayments(
  dependencies: PaymentsDependencies,
  merchantId: string,
  filter: ListInput['filter'],
): Promise<AsyncGenerator<string>> {
  const resolved = await resolveFilter(dependencies, merchantId, filter);
  return (async function* lines() {
    yield csvLine(exportColumns);
    if (resolved === undefined) return;
    let after: { createdAt: Date; id: string } | undefined;
    for (;;) {
      const page = await listPayments(dependencies.sql, {
        merchantId,
        ...resolved,
        ...(after !== undefined && { after }),
        limit: exportPageRows,
      });
      for (const { payment, card } of await withCards(dependencies, merchantId, page))
        yield line(payment, card);
      const last = page.at(-1);
      if (page.length < exportPageRows || !last) return;
      after = { createdAt: last.createdAt, id: last.id };
    }
  })();
}
