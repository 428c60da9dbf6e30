// The default transport: events.log is the bus. Publishing is the relay's insert into the log, and a
// group's position is its row in events.consumer_offsets.
import { drainGroup } from './consumer.ts';
import type { BusTransport, TransportContext } from './transport.ts';

export function postgresTransport(context: TransportContext): BusTransport {
  return {
    kind: 'postgres',
    async publish() {},
    drain: (subscription, settings, signal) => drainGroup(context.sql, subscription, settings, signal),
    async lag(group) {
      const [row] = await context.sql<{ lag: bigint }[]>`
        select (select last_position from events.relay_state where singleton) - offsets.position as lag
        from events.consumer_offsets offsets where consumer_group = ${group}`;
      return row === undefined ? undefined : Number(row.lag);
    },
    async close() {},
  };
}
