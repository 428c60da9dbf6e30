// Figures an operator watches (and a metrics endpoint exports): how far the relay is behind the
// outbox, how far each consumer group is behind the log, and how many events are dead.
import type { Queryable } from '../../../platform/db/client.ts';
import type { EventBusStats } from '../index.ts';

/** `brokerLag`: a broker transport's count for a group, used instead of the log offset's. */
export async function busStats(
  sql: Queryable,
  brokerLag?: (group: string) => Promise<number>,
): Promise<EventBusStats> {
  const [outbox] = await sql<{ unpublished: bigint; oldest_seconds: number | null; last_position: bigint }[]>`
    select (select count(*) from events.outbox where position is null)::bigint as unpublished,
           (select extract(epoch from now() - min(staged_at))::float8
              from events.outbox where position is null) as oldest_seconds,
           (select last_position from events.relay_state where singleton) as last_position`;
  const groups = await sql<{ consumer_group: string; position: bigint; retrying: bigint }[]>`
    select offsets.consumer_group, offsets.position,
           (select count(*) from events.retries retry
             where retry.consumer_group = offsets.consumer_group)::bigint as retrying
    from events.consumer_offsets offsets order by offsets.consumer_group`;
  const [dead] = await sql<{ count: bigint }[]>`
    select count(*)::bigint as count from events.dead_letters where replayed_at is null`;
  const lastPosition = outbox!.last_position;
  return {
    outboxUnpublished: Number(outbox!.unpublished),
    outboxOldestUnpublishedSeconds: outbox!.oldest_seconds ?? 0,
    logPosition: Number(lastPosition),
    consumerGroups: await Promise.all(
      groups.map(async (group) => ({
        group: group.consumer_group,
        lag: brokerLag ? await brokerLag(group.consumer_group) : Number(lastPosition - group.position),
        retrying: Number(group.retrying),
      })),
    ),
    deadLetters: Number(dead!.count),
  };
}
