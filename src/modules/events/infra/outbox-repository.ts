// Staging into the outbox: one insert on the caller's transaction, so the event commits or rolls
// back with the state change it describes.
import assert from 'node:assert/strict';
import type { TransactionSql } from '../../../platform/db/client.ts';
import { newId } from '../../../platform/ids.ts';
import { currentTraceparent, SpanKind, withSpan } from '../../../platform/tracing.ts';
import { assertEventType, toJsonPayload } from '../domain/envelope.ts';
import type { EventToStage } from '../index.ts';

export async function stageEvent(
  transaction: TransactionSql,
  event: EventToStage,
): Promise<{ readonly eventId: string }> {
  assertEventType(event.type);
  assert.ok(!Number.isNaN(event.occurredAt.getTime()), 'event occurredAt is an invalid date');
  const payload = toJsonPayload(event.payload);
  const eventId = newId('evt', event.occurredAt.getTime());
  // The staging span's trace context travels with the event (ADR 23); null when tracing is off.
  await withSpan(
    `events.stage ${event.type}`,
    { kind: SpanKind.PRODUCER, attributes: { 'messaging.message.id': eventId } },
    async () => {
      const traceparent = currentTraceparent() ?? null;
      await transaction`
        insert into events.outbox (event_id, type, aggregate_id, merchant_id, payload, occurred_at, traceparent)
        values (${eventId}, ${event.type}, ${event.aggregateId}, ${event.merchantId},
                ${transaction.json(payload as Parameters<TransactionSql['json']>[0])}, ${event.occurredAt},
                ${traceparent})`;
    },
  );
  return { eventId };
}
