// Staging into the outbox: one insert on the caller's transaction, so the event commits or rolls
// back with the state change it describes.
import assert from 'node:assert/strict';
import { coalescedWrite } from '../../../platform/db/batcher.ts';
import type { TransactionSql } from '../../../platform/db/client.ts';
import { newId } from '../../../platform/ids.ts';
import { currentTraceparent, SpanKind, withSpan } from '../../../platform/tracing.ts';
import { assertEventType, toJsonPayload } from '../domain/envelope.ts';
import type { EventToStage } from '../index.ts';

interface OutboxRow {
  readonly eventId: string;
  readonly event: EventToStage;
  readonly payload: Record<string, unknown>;
  readonly traceparent: string | null;
}

/** Events in one insert (the rows of the works sharing a transaction, ADR 18), in their order. */
const insertOutboxRows = coalescedWrite(
  async (transaction: TransactionSql, rows: readonly OutboxRow[]): Promise<readonly undefined[]> => {
    await transaction`
      insert into events.outbox (event_id, type, aggregate_id, merchant_id, payload, occurred_at, traceparent)
      select event_id, type, aggregate_id, merchant_id, payload::jsonb, occurred_at, traceparent
      from unnest(
        ${rows.map((row) => row.eventId)}::text[],
        ${rows.map((row) => row.event.type)}::text[],
        ${rows.map((row) => row.event.aggregateId)}::text[],
        ${rows.map((row) => row.event.merchantId)}::text[],
        ${rows.map((row) => JSON.stringify(row.payload))}::text[],
        ${rows.map((row) => row.event.occurredAt.toISOString())}::timestamptz[],
        ${rows.map((row) => row.traceparent)}::text[]
      ) with ordinality as row (event_id, type, aggregate_id, merchant_id, payload, occurred_at, traceparent, position)
      order by position`;
    return rows.map(() => undefined);
  },
);

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
    () =>
      insertOutboxRows(transaction, { eventId, event, payload, traceparent: currentTraceparent() ?? null }),
  );
  return { eventId };
}
