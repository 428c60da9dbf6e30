// The `settlement` consumer group: every capture and refund becomes an item to settle, keyed by
// its event id, so a redelivered event adds nothing.
import type { TransactionSql } from '../../../platform/db/client.ts';
import type { EventEnvelope } from '../../events/index.ts';
import { insertItem } from '../infra/settlement-repository.ts';

export const settlementEventTypes = ['payment.captured.v1', 'payment.refunded.v1'] as const;

function positiveInteger(value: unknown, name: string, eventId: string): bigint {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0)
    throw new Error(`event ${eventId} has no positive integer ${name}`);
  return BigInt(value);
}

export async function recordSettlementItem(
  transaction: TransactionSql,
  event: EventEnvelope,
  merchantId: string,
): Promise<void> {
  const { paymentId, currency } = event.payload;
  if (typeof paymentId !== 'string' || typeof currency !== 'string')
    throw new Error(`event ${event.eventId} has no paymentId or currency`);
  const capture = event.type === 'payment.captured.v1';
  const refundId = event.payload['refundId'];
  await insertItem(transaction, {
    // What the acquirer's report names the operation by: the payment (capture) or the refund.
    operationId: capture ? paymentId : typeof refundId === 'string' ? refundId : paymentId,
    id: event.eventId,
    merchantId,
    currency,
    paymentId,
    kind: capture ? 'capture' : 'refund',
    amount: capture
      ? positiveInteger(event.payload['capturedAmount'], 'capturedAmount', event.eventId)
      : positiveInteger(event.payload['refundAmount'], 'refundAmount', event.eventId),
    occurredAt: new Date(event.occurredAt),
  });
}
