// The dead-letter queue of the postgres bus (topic `payment.events.dlq`): events a consumer group
// gave up on, with their error and attempt count. Replaying puts an event back in front of its
// group's consumer (events.retries, attempt count 0); the inbox still guarantees a single effect.
import type { Queryable, Sql } from '../../../platform/db/client.ts';

export interface DeadLetter {
  readonly id: string;
  readonly topic: string;
  readonly consumerGroup: string;
  readonly position: bigint;
  readonly eventId: string;
  readonly type: string;
  readonly aggregateId: string;
  readonly error: string;
  readonly attempts: number;
  readonly deadAt: Date;
}

/** At most this many dead letters are listed at once. */
export const deadLetterListMax = 1000;

export async function listDeadLetters(sql: Queryable): Promise<DeadLetter[]> {
  const rows = await sql<
    {
      id: string;
      topic: string;
      consumer_group: string;
      position: bigint;
      event_id: string;
      type: string;
      aggregate_id: string;
      error: string;
      attempts: number;
      dead_at: Date;
    }[]
  >`
    select dead.id, dead.topic, dead.consumer_group, dead.position, log.event_id, log.type, log.aggregate_id,
           dead.error, dead.attempts, dead.dead_at
    from events.dead_letters dead join events.log log on log.position = dead.position
    where dead.replayed_at is null
    order by dead.dead_at, dead.id
    limit ${deadLetterListMax}`;
  return rows.map((row) => ({
    id: row.id,
    topic: row.topic,
    consumerGroup: row.consumer_group,
    position: row.position,
    eventId: row.event_id,
    type: row.type,
    aggregateId: row.aggregate_id,
    error: row.error,
    attempts: row.attempts,
    deadAt: row.dead_at,
  }));
}

/** Replays the dead letters named (or all when `ids` is 'all'); returns the ids replayed. */
export async function replayDeadLetters(sql: Sql, ids: readonly string[] | 'all'): Promise<string[]> {
  return sql.begin(async (transaction) => {
    const replayed = await transaction<{ id: string }[]>`
      with chosen as (
        update events.dead_letters set replayed_at = now()
        where replayed_at is null and (${ids === 'all'} or id = any(${ids === 'all' ? [] : [...ids]}::text[]))
        returning id, consumer_group, position
      ),
      queued as (
        insert into events.retries (consumer_group, position, aggregate_id, attempts, next_attempt_at)
        select chosen.consumer_group, chosen.position, log.aggregate_id, 0, now()
        from chosen join events.log log on log.position = chosen.position
        on conflict do nothing
      )
      select id from chosen order by id`;
    return replayed.map((row) => row.id);
  });
}
