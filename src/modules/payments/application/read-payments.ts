// GET /payments/{id}, GET /payments and the refunds of a payment: reads only, scoped by merchant.
// The ledger figures come from the ledger, not from the payment row.
import { amountToJson } from '../../../platform/money.ts';
import { DomainError } from '../../../platform/errors.ts';
import type { PaymentFilter } from '../domain/payment-filter.ts';
import type { Payment } from '../domain/payment.ts';
import { paymentView, refundView } from '../domain/payment.ts';
import { paymentTimeline, timelineView } from '../domain/payment-timeline.ts';
import { findPayment, listPayments, listRefunds } from '../infra/payment-repository.ts';
import { paymentNotFound } from './payment-errors.ts';
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
  readonly filter: PaymentFilter & { readonly last4?: string };
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

/**
 * The filter as the repository takes it: card last 4 becomes the merchant's tokens ending in those
 * digits (asked of the vault); undefined when no payment can match (no such card).
 */
export async function resolveFilter(
  dependencies: PaymentsDependencies,
  merchantId: string,
  filter: ListInput['filter'],
): Promise<PaymentFilter | undefined> {
  const { last4, ...rest } = filter;
  if (last4 === undefined) return rest;
  const found = await dependencies.cardData.tokensEndingIn(merchantId, last4);
  if (found.truncated)
    throw new DomainError(
      'search_too_broad',
      422,
      'Too many cards end in these 4 digits to search by them alone; add a date range or another filter.',
    );
  if (found.tokens.length === 0) return undefined;
  const tokens = rest.tokens ? found.tokens.filter((token) => rest.tokens!.includes(token)) : found.tokens;
  return { ...rest, tokens };
}

/** A page of payments with each card's brand and last 4 (one vault call per page). */
export async function withCards(dependencies: PaymentsDependencies, merchantId: string, payments: Payment[]) {
  const tokens = [...new Set(payments.flatMap((payment) => (payment.token === null ? [] : [payment.token])))];
  const cards =
    tokens.length === 0
      ? new Map<string, { brand: string; last4: string }>()
      : await dependencies.cardData.describeMany(merchantId, tokens);
  return payments.map((payment) => {
    const card = payment.token === null ? undefined : cards.get(payment.token);
    return { payment, card };
  });
}

export async function listMerchantPayments(dependencies: PaymentsDependencies, input: ListInput) {
  const filter = await resolveFilter(dependencies, input.merchantId, input.filter);
  if (filter === undefined) return { data: [], nextCursor: null };
  const rows = await listPayments(dependencies.sql, {
    merchantId: input.merchantId,
    ...filter,
    ...(input.cursor !== undefined && { after: input.cursor }),
    limit: input.limit + 1,
  });
  const page = rows.slice(0, input.limit);
  const last = page.at(-1);
  return {
    data: (await withCards(dependencies, input.merchantId, page)).map(({ payment, card }) => ({
      ...paymentView(payment),
      ...(card && { card }),
    })),
    nextCursor:
      rows.length > input.limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null,
  };
}
