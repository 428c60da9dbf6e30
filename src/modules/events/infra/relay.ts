// The outbox relay: copies committed outbox rows into events.log in batches. One relay at a time
// holds a transaction-level advisory lock, so positions are handed out serially, without gaps, in the
// order rows became visible (commit order). A relay killed mid-batch rolls back: nothing is lost or
// published twice, and the next relay picks the same rows up.
import type { Sql, TransactionSql } from '../../../platform/db/client.ts';
import type { LogRow } from './consumer.ts';
import {
  contextFrom,
  markSpanError,
  SpanKind,
  startSpan,
  tracingEnabled,
} from '../../../platform/tracing.ts';

export const relayAdvisoryLockKey = 7_310_400_001;
/** Rows moved per relay transaction. */
export const relayBatchMax = 500;

export interface RelayOptions {
  readonly batchMax?: number;
  /**
   * The transport's publish step (a broker), run before the relay commits, with the batch in
   * position order. Throwing rolls the batch back into the outbox.
   */
  readonly publish?: (events: readonly LogRow[]) => Promise<void>;
  /** Test hook: runs inside the relay transaction after the log rows are written, before commit. */
  readonly afterBatchWritten?: (transaction: TransactionSql, count: number) => Promise<void>;
}

/** Relays one batch; returns how many events it published (0 when none, or another relay is busy). */
export async function relayBatch(sql: Sql, options: RelayOptions = {}): Promise<number> {
  const batchMax = options.batchMax ?? relayBatchMax;
  return sql.begin(async (transaction) => {
    const [lock] = await transaction<{ locked: boolean }[]>`
      select pg_try_advisory_xact_lock(${relayAdvisoryLockKey}) as locked`;
    if (!lock?.locked) return 0;
    const [state] = await transaction<{ last_position: bigint }[]>`
      select last_position from events.relay_state where singleton for update`;
    // SKIP LOCKED keeps a relay that lost its lock (a stale, still-open transaction) from blocking.
    const published = await transaction`
      with batch as (
        select staged_sequence, event_id, type, aggregate_id, merchant_id, payload, occurred_at, traceparent,
               ${state!.last_position}::bigint + row_number() over (order by staged_sequence) as position
        from (
          select * from events.outbox where position is null
          order by staged_sequence limit ${batchMax} for update skip locked
        ) pending
      ),
      logged as (
        insert into events.log (position, event_id, type, aggregate_id, merchant_id, payload, occurred_at, traceparent)
        select position, event_id, type, aggregate_id, merchant_id, payload, occurred_at, traceparent from batch
        returning position
      )
      update events.outbox outbox set position = batch.position, published_at = now()
      from batch where outbox.staged_sequence = batch.staged_sequence
      returning outbox.position, outbox.event_id, outbox.type, outbox.aggregate_id, outbox.merchant_id,
                outbox.payload, outbox.occurred_at, outbox.traceparent`;
    if (published.count === 0) return 0;
    if (options.publish || tracingEnabled()) {
      const events = ([...published] as unknown as (LogRow & { position: bigint })[]).sort((a, b) =>
        a.position < b.position ? -1 : a.position > b.position ? 1 : 0,
      );
      await publishTraced(events, options.publish ?? (async () => undefined));
    }
    await transaction`
      update events.relay_state set last_position = last_position + ${published.count} where singleton`;
    await options.afterBatchWritten?.(transaction, published.count);
    await transaction`select pg_notify('payflow_events_log', '')`;
    return published.count;
  });
}

/** Relays batches until the outbox is drained (or the signal aborts). */
export async function relayAll(sql: Sql, signal?: AbortSignal, options: RelayOptions = {}): Promise<number> {
  let total = 0;
  for (;;) {
    if (signal?.aborted) return total;
    const count = await relayBatch(sql, options);
    total += count;
    if (count === 0) return total;
  }
}

/**
 * Publishes the batch; with tracing on, each traced event gets a short `events.publish` span in its
 * own trace (the relay serves many traces at once), ended when the broker holds the batch.
 */
async function publishTraced(
  events: readonly LogRow[],
  publish: (events: readonly LogRow[]) => Promise<void>,
): Promise<void> {
  if (!tracingEnabled()) return publish(events);
  const spans = events.flatMap((event) => {
    if (!event.traceparent) return [];
    const span = startSpan(`events.publish ${event.type}`, {
      kind: SpanKind.PRODUCER,
      parent: contextFrom(event.traceparent),
      attributes: { 'messaging.message.id': event.event_id, 'payflow.position': String(event.position) },
    });
    return span ? [span] : [];
  });
  try {
    await publish(events);
  } catch (error) {
    for (const span of spans) markSpanError(span, 'publish failed');
    throw error;
  } finally {
    for (const span of spans) span.end();
  }
}
