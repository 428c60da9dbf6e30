// Copies dead letters to the broker's dead-letter subject/topic (NATS and Kafka transports), after
// the fact and reliably: rows not yet mirrored are published in batches and marked in the same
// transaction, so a crash between the two publishes a copy again (the broker deduplicates by dead
// letter id where it can). The postgres transport has nothing to mirror: the table is its DLQ.
import type { Sql } from '../../../platform/db/client.ts';
import type { LogRow } from './consumer.ts';
import type { BusTransport } from './transport.ts';

export interface DeadLetterMessage {
  readonly id: string;
  readonly consumerGroup: string;
  readonly error: string;
  readonly attempts: number;
  readonly deadAt: Date;
  readonly event: LogRow;
}

export const deadLetterMirrorBatchMax = 100;

/** Publishes unmirrored dead letters through `transport`; returns how many were mirrored. */
export async function mirrorDeadLetters(sql: Sql, transport: BusTransport): Promise<number> {
  const publish = transport.publishDeadLetters;
  if (publish === undefined) return 0;
  return sql.begin(async (transaction) => {
    const rows = await transaction<
      (LogRow & { id: string; consumer_group: string; error: string; attempts: number; dead_at: Date })[]
    >`
      select dead.id, dead.consumer_group, dead.error, dead.attempts, dead.dead_at,
             log.position, log.event_id, log.type, log.aggregate_id, log.merchant_id, log.payload,
             log.occurred_at
      from events.dead_letters dead join events.log log on log.position = dead.position
      where dead.mirrored_at is null
      order by dead.dead_at, dead.id
      limit ${deadLetterMirrorBatchMax}
      for update of dead skip locked`;
    if (rows.length === 0) return 0;
    await publish(
      rows.map((row) => ({
        id: row.id,
        consumerGroup: row.consumer_group,
        error: row.error,
        attempts: row.attempts,
        deadAt: row.dead_at,
        event: row,
      })),
    );
    await transaction`
      update events.dead_letters set mirrored_at = now() where id = any(${rows.map((row) => row.id)}::text[])`;
    return rows.length;
  });
}
