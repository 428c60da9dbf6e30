// Event retention (ADR 28): the outbox and events.log would otherwise grow forever. In batches, each
// its own short transaction, oldest first by primary key (no extra index on the hot insert path):
//   - outbox rows already published (position set) before the cutoff; unpublished rows always stay;
//   - events.log rows published before the cutoff that no consumer group still needs: at or below
//     every postgres-transport group's offset, with no retry waiting and no open dead letter; their
//     replayed dead letters and the subscribed groups' inbox rows go with them.
// Deletes touch only published rows, which the relay never locks, so a run never blocks the relay.
import type { Sql } from '../../../platform/db/client.ts';

export const retentionBatchMax = 2_000;

export interface RetentionResult {
  readonly outbox: number;
  readonly log: number;
}

export async function pruneEvents(
  sql: Sql,
  cutoff: Date,
  options: {
    /** Consumer groups whose inbox rows go with the events (the process's subscriptions). */
    groups?: readonly string[];
    batchMax?: number;
    signal?: AbortSignal;
  } = {},
): Promise<RetentionResult> {
  const batchMax = options.batchMax ?? retentionBatchMax;
  let outbox = 0;
  let log = 0;
  for (;;) {
    if (options.signal?.aborted) break;
    const deleted = await sql`
      delete from events.outbox where staged_sequence in (
        select staged_sequence from events.outbox
        where position is not null and published_at < ${cutoff}
        order by staged_sequence limit ${batchMax})`;
    outbox += deleted.count;
    if (deleted.count < batchMax) break;
  }
  for (;;) {
    if (options.signal?.aborted) break;
    const count = await sql.begin(async (transaction) => {
      await transaction`select set_config('payflow.events_retention', 'on', true)`;
      const rows = await transaction<{ position: bigint; event_id: string }[]>`
        select log.position, log.event_id from events.log log
        where log.published_at < ${cutoff}
          and log.position <= coalesce((select min(position) from events.consumer_offsets), log.position)
          and not exists (select 1 from events.retries retry where retry.position = log.position)
          and not exists (select 1 from events.dead_letters dead
                          where dead.position = log.position and dead.replayed_at is null)
        order by log.position limit ${batchMax}
        for update skip locked`;
      if (rows.length === 0) return 0;
      const positions = rows.map((row) => row.position.toString());
      const eventIds = rows.map((row) => row.event_id);
      await transaction`delete from events.dead_letters where position = any(${positions}::bigint[])`;
      // By primary key (group, event id); a group no process subscribes to any more keeps its rows.
      await transaction`
        delete from events.inbox
        where consumer_group = any(${[...(options.groups ?? [])]}::text[])
          and event_id = any(${eventIds})`;
      const deleted = await transaction`delete from events.log where position = any(${positions}::bigint[])`;
      return deleted.count;
    });
    log += count;
    if (count < batchMax) break;
  }
  return { outbox, log };
}
