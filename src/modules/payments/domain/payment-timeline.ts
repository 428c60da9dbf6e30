// A payment's timeline: what happened to it and when, built from the payment and its refunds as
// stored (not from the event log, which retention prunes), oldest first. The dashboard's payment page
// shows it; the ledger entries, with their own times, sit beside it.
import { amountToJson } from '../../../platform/money.ts';
import type { Payment, Refund } from './payment.ts';

export type TimelineEntryType =
  | 'created'
  | 'screened'
  | 'authorized'
  | 'captured'
  | 'voided'
  | 'expired'
  | 'failed'
  | 'operation_pending'
  | 'refund_requested'
  | 'refunded'
  | 'refund_failed';

export interface TimelineEntry {
  readonly type: TimelineEntryType;
  readonly at: Date;
  /** Minor units of the payment's currency, when the step moved an amount. */
  readonly amount?: bigint;
  readonly refundId?: string;
  /** A decline code, the screening's decision, or the operation in flight. */
  readonly detail?: string;
}

function paymentEntries(payment: Payment): TimelineEntry[] {
  const entries: TimelineEntry[] = [{ type: 'created', at: payment.createdAt, amount: payment.amount }];
  if (payment.risk !== null)
    entries.push({ type: 'screened', at: payment.createdAt, detail: payment.risk.decision });
  if (payment.authorizedAt !== null)
    entries.push({ type: 'authorized', at: payment.authorizedAt, amount: payment.authorizedAmount });
  if (payment.capturedAt !== null)
    entries.push({ type: 'captured', at: payment.capturedAt, amount: payment.capturedAmount });
  if (payment.voidedAt !== null) entries.push({ type: 'voided', at: payment.voidedAt });
  if (payment.status === 'EXPIRED') entries.push({ type: 'expired', at: payment.updatedAt });
  if (payment.status === 'FAILED')
    entries.push({
      type: 'failed',
      at: payment.updatedAt,
      ...(payment.declineCode !== null && { detail: payment.declineCode }),
    });
  if (payment.pendingOperation !== null)
    entries.push({
      type: 'operation_pending',
      at: payment.updatedAt,
      detail: payment.pendingOperation,
      ...(payment.pendingOperationAmount !== null && { amount: payment.pendingOperationAmount }),
    });
  return entries;
}

function refundEntries(refund: Refund): TimelineEntry[] {
  const requested: TimelineEntry = {
    type: 'refund_requested',
    at: refund.createdAt,
    amount: refund.amount,
    refundId: refund.id,
  };
  switch (refund.status) {
    case 'PENDING':
      return [requested];
    case 'REFUNDED':
      return [
        requested,
        { type: 'refunded', at: refund.updatedAt, amount: refund.amount, refundId: refund.id },
      ];
    case 'FAILED':
      return [
        requested,
        {
          type: 'refund_failed',
          at: refund.updatedAt,
          amount: refund.amount,
          refundId: refund.id,
          ...(refund.declineCode !== null && { detail: refund.declineCode }),
        },
      ];
    default:
      return refund.status satisfies never;
  }
}

/** Oldest first; steps at the same instant keep the order they happen in (created before screened…). */
export function paymentTimeline(payment: Payment, refunds: readonly Refund[]): TimelineEntry[] {
  const entries = [...paymentEntries(payment), ...refunds.flatMap(refundEntries)];
  return entries
    .map((entry, index) => ({ entry, index }))
    .sort((left, right) => left.entry.at.getTime() - right.entry.at.getTime() || left.index - right.index)
    .map(({ entry }) => entry);
}

export function timelineView(payment: Payment, entries: readonly TimelineEntry[]) {
  return {
    paymentId: payment.id,
    currency: payment.currency,
    data: entries.map((entry) => ({
      type: entry.type,
      at: entry.at.toISOString(),
      ...(entry.amount !== undefined && { amount: amountToJson(entry.amount) }),
      ...(entry.refundId !== undefined && { refundId: entry.refundId }),
      ...(entry.detail !== undefined && { detail: entry.detail }),
    })),
  };
}
