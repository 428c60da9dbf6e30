// GET /payments/volume: the dashboard's chart of recent days. Per UTC day and currency, the payments
// created that day, how many the acquirer authorized (the approval rate) and how many were captured, and the amounts captured and refunded on them so far.
// One grouped read (index payments_merchant_created); days without payments are filled with zeros.
import { totalToJson } from '../../../platform/money.ts';
import { dailyVolume } from '../infra/payment-repository.ts';
import type { PaymentsDependencies } from './dependencies.ts';

export const volumeDaysMax = 90;
export const volumeDaysDefault = 14;
const dayMs = 86_400_000;

function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export async function paymentVolume(dependencies: PaymentsDependencies, merchantId: string, days: number) {
  const today = new Date(Math.floor(dependencies.clock.now().getTime() / dayMs) * dayMs);
  const from = new Date(today.getTime() - (days - 1) * dayMs);
  const rows = await dailyVolume(dependencies.sql, merchantId, from);
  const dates = Array.from({ length: days }, (_, index) => utcDay(new Date(from.getTime() + index * dayMs)));
  const currencies = [...new Set(rows.map((row) => row.currency))].sort();
  return {
    from: dates[0],
    to: dates.at(-1),
    currencies: currencies.map((currency) => ({
      currency,
      days: dates.map((date) => {
        const row = rows.find((item) => item.currency === currency && item.day === date);
        return {
          date,
          count: row?.count ?? 0,
          authorizedCount: row?.authorizedCount ?? 0,
          capturedCount: row?.capturedCount ?? 0,
          capturedAmount: totalToJson(row?.capturedAmount ?? 0n),
          refundedAmount: totalToJson(row?.refundedAmount ?? 0n),
        };
      }),
    })),
  };
}
