// The event bus's figures as Prometheus gauges, read through the events face at scrape time: outbox
// lag, consumer lag and retries per group, and dead letters. Registered by the composition root
// once the events module exists, so they follow whatever bus adapter the events module runs.
import type { EventBusStats, EventsFace } from '../modules/events/index.ts';
import { registerScrapedGauges } from '../platform/metrics.ts';
import type { PlatformContext } from '../platform/module.ts';

export function registerEventBusGauges(context: PlatformContext, events: EventsFace): void {
  if (!context.metrics) return;
  registerScrapedGauges<EventBusStats>(context.metrics, context.log, {
    source: 'events',
    sql: context.sql,
    read: (queryable) => events.stats(queryable),
    gauges: [
      {
        name: 'payflow_events_outbox_unpublished',
        help: 'Outbox events staged but not yet published by the relay.',
        value: (stats) => stats.outboxUnpublished,
      },
      {
        name: 'payflow_events_outbox_lag_seconds',
        help: 'Age of the oldest unpublished outbox event, in seconds (0 when none).',
        value: (stats) => stats.outboxOldestUnpublishedSeconds,
      },
      {
        name: 'payflow_events_consumer_lag',
        help: 'Published events a consumer group has not yet consumed, by group.',
        labelNames: ['group'],
        value: (stats) => stats.consumerGroups.map(({ group, lag }) => ({ labels: { group }, value: lag })),
      },
      {
        name: 'payflow_events_consumer_retrying',
        help: 'Events waiting for a retry in a consumer group, by group.',
        labelNames: ['group'],
        value: (stats) =>
          stats.consumerGroups.map(({ group, retrying }) => ({ labels: { group }, value: retrying })),
      },
      {
        name: 'payflow_events_dead_letters',
        help: 'Dead-lettered events not yet replayed.',
        value: (stats) => stats.deadLetters,
      },
    ],
  });
}
