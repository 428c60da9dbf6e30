// GET /payments/{id}, GET /payments and the refunds of a payment: reads only, scoped by merchant.
// The ledger figures come from the ledger, not from the payment row.
import { amountToJson } from '../../../platform/money.ts';
import type { PaymentStatus } from '../domain/payment-state.ts';
import { paymentView, refundView } from '../domain/payment.ts';
import { paymentTimeline, timelineView } from '../domain/payment-timeline.ts';
import { findPayment, listPayments, listRefunds } from '../infra/payment-repository.ts';
import { paymentNotFound } from './capture-payment.ts';
import type { PaymentsDependencies } from './dependencies.ts';

export async function getPayment(dependencies: PaymentsDependencies, merchantId: string, paymentId: string) {
  const payment = await findPayment(dependencies.sql, merchantId, paymentId);
  if (!payment) throw paymentNotFound();
  const ledger = await dependencies.ledger.view(dependencies.sql, merchantId, paymentId);
  return {
    ...paymentView(payment),
    ledgerBalance: amountToJson(ledger.balance),
    ledgerHold: amountToJson(ledger.hold),
    ledgerEntries: ledger.entries.map((entry) => ({
      entryId: entry.entryId,
      type: entry.type,
      account: entry.account,
      amount: amountToJson(entry.amount),
      createdAt: entry.createdAt.toISOString(),
    })),
  };
}

export async function getRefunds(dependencies: PaymentsDependencies, merchantId: string, paymentId: string) {
  const payment = await findPayment(dependencies.sql, merchantId, paymentId);
  if (!payment) throw paymentNotFound();
  const refunds = await listRefunds(dependencies.sql, merchantId, paymentId);
  return { data: refunds.map(refundView) };
}

/** GET /payments/{id}/timeline: the payment's steps and its refunds', oldest first. */
export async function getPaymentTimeline(
  dependencies: PaymentsDependencies,
  merchantId: string,
  paymentId: string,
) {
  const payment = await findPayment(dependencies.sql, merchantId, paymentId);
  if (!payment) throw paymentNotFound();
  const refunds = await listRefunds(dependencies.sql, merchantId, paymentId);
  return timelineView(payment, paymentTimeline(payment, refunds));
}

export interface ListInput {
  readonly merchantId: string;
  readonly status?: PaymentStatus;
  readonly createdFrom?: Date;
  readonly createdTo?: Date;
  readonly cursor?: { readonly createdAt: Date; readonly id: string };
  readonly limit: number;
}

export function encodeCursor(position: { readonly createdAt: Date; readonly id: string }): string {
  return Buffer.from(`${position.createdAt.toISOString()}|${position.id}`).toString('base64url');
}

export function decodeCursor(cursor: string): { createdAt: Date; id: string } | undefined {
  const [time, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (time === undefined || id === undefined || !/^pay_[0-9a-z]{26}$/.test(id)) return undefined;
  const createdAt = new Date(time);
  return Number.isNaN(createdAt.getTime()) ? undefined : { createdAt, id };
}

export async function listMerchantPayments(dependencies: PaymentsDependencies, input: ListInput) {
  const rows = await listPayments(dependencies.sql, {
    merchantId: input.merchantId,
    ...(input.status !== undefined && { status: input.status }),
    ...(input.createdFrom !== undefined && { createdFrom: input.createdFrom }),
    ...(input.createdTo !== undefined && { createdTo: input.createdTo }),
    ...(input.cursor !== undefined && { after: input.cursor }),
    limit: input.limit + 1,
  });
  const page = rows.slice(0, input.limit);
  const last = page.at(-1);
  return {
    data: page.map(paymentView),
    nextCursor:
      rows.length > input.limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null,
  };
}
