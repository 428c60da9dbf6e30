// The events module's public face. `stage` writes a domain event to the transactional outbox inside
// the caller's transaction, so the event commits (or rolls back) with the state change it describes.
// A relay job moves committed outbox rows into events.log in commit order and, with EVENT_BUS=nats or
// kafka, publishes them to the broker before it commits; consumer groups (`subscribe`) receive them
// from the chosen transport at least once and handle each once, with an inbox, retries and dead
// letters (infra/transport.ts).
import type { Queryable, TransactionSql } from '../../platform/db/client.ts';
import type { Job, ModuleDefinition } from '../../platform/module.ts';
import { tracingEnabled } from '../../platform/tracing.ts';
import { dlqListCommand, dlqReplayCommand } from './application/dlq-commands.ts';
import type { Logger } from '../../platform/log.ts';
import type { Sql } from '../../platform/db/client.ts';
import { busStats } from './infra/bus-stats.ts';
import type { Subscription } from './infra/consumer.ts';
import { mirrorDeadLetters } from './infra/dead-letter-mirror.ts';
import { kafkaTransport } from './infra/kafka-transport.ts';
import { natsTransport } from './infra/nats-transport.ts';
import { stageEvent } from './infra/outbox-repository.ts';
import { postgresTransport } from './infra/postgres-transport.ts';
import { relayAll } from './infra/relay.ts';
import type { BusTransport } from './infra/transport.ts';
import { wakeableJob } from './infra/wakeable-job.ts';
import { pruneEvents } from './infra/retention.ts';
import type { RequestAuthenticator } from '../../platform/http/auth.ts';
import { registerEventRoutes } from './http/routes.ts';
import { eventsSettings, type EventsVariables } from './settings.ts';

export { eventsSettings, type EventsVariables } from './settings.ts';

/** How often the worker deletes events past EVENTS_RETENTION_DAYS. */
const retentionIntervalMs = 10 * 60_000;

export { forbiddenPayloadKeys, toJsonPayload } from './domain/envelope.ts';
/** Stages an event in the caller's transaction (the face's `stage`, usable from CLI commands too). */
export { stageEvent };
/** The PostgreSQL bus's own figures (outbox, consumer-group lag, dead letters), as `payflow events stats` reads them. */
export { busStats as postgresBusStats };

/** What a module hands to `stage`. */
export interface EventToStage {
  /** Versioned type, `<aggregate>.<event>.v<N>`, e.g. `payment.captured.v1`. */
  readonly type: string;
  /** The aggregate the event is about (a payment id); events of one aggregate keep their order. */
  readonly aggregateId: string;
  readonly merchantId: string;
  /**
   * JSON-safe data. `bigint` values are one operation's amounts, written as JSON integers
   * (amountToJson: at most amountMaxMinor); a sum is staged already as a string (totalToJson,
   * ADR 27). Dates become ISO 8601 strings. Never card data: a key named
   * number, cvc, cvv or pan (any case) is refused, as are functions, symbols and non-finite numbers.
   */
  readonly payload: Record<string, unknown>;
  readonly occurredAt: Date;
}

/** The versioned envelope consumers receive: `{ eventId, type, occurredAt, payload }`. */
export interface EventEnvelope {
  /** `evt_…` */
  readonly eventId: string;
  readonly type: string;
  /** ISO 8601. */
  readonly occurredAt: string;
  readonly payload: Record<string, unknown>;
}

/**
 * Handles one event for a consumer group. `transaction` is open around the handler and the group's
 * inbox row: database effects made through it happen once per event. Throwing schedules a retry
 * (exponential backoff with jitter); after EVENTS_MAX_ATTEMPTS the event is dead-lettered.
 */
export type EventHandler = (
  event: EventEnvelope,
  context: {
    readonly transaction: TransactionSql;
    /** The aggregate (payment id) and the merchant the event belongs to. */
    readonly aggregateId: string;
    readonly merchantId: string;
  },
) => Promise<void>;

/** Lag and dead-letter figures of the postgres bus (for metrics and operators). */
export interface EventBusStats {
  /** Outbox rows not yet published, and the age of the oldest one (0 when none). */
  readonly outboxUnpublished: number;
  readonly outboxOldestUnpublishedSeconds: number;
  /** The last position the relay handed out. */
  readonly logPosition: number;
  /**
   * Per consumer group: events not yet acknowledged by the group (postgres: in the log after its
   * offset; NATS/Kafka: as the broker counts them, NaN when the broker cannot be asked or this
   * process runs no consumers), and events
   * waiting in its retries.
   */
  readonly consumerGroups: readonly {
    readonly group: string;
    readonly lag: number;
    readonly retrying: number;
  }[];
  /** Dead letters not yet replayed. */
  readonly deadLetters: number;
}

export interface EventsFace {
  /** Writes the event to the outbox in the caller's transaction; returns its `evt_` id. */
  stage(transaction: TransactionSql, event: EventToStage): Promise<{ readonly eventId: string }>;
  /**
   * Registers a consumer group (name `[a-z][a-z0-9_.-]*`) for the given event types (empty: all).
   * Delivery is at least once, in log order per aggregate; the worker role runs the consumers.
   */
  subscribe(group: string, types: readonly string[], handler: EventHandler): void;
  /** Outbox lag, consumer lag per group and dead-letter count. */
  stats(sql: Queryable): Promise<EventBusStats>;
  /**
   * The W3C `traceparent` each traced event carries (ADR 23), for work done later on its behalf (a
   * webhook delivery); empty when tracing is off.
   */
  traceContexts(sql: Queryable, eventIds: readonly string[]): Promise<ReadonlyMap<string, string>>;
}

/** The payment event types (issue 6); `settlement.completed.v1` joins when settlement lands. */
export const paymentEventTypes = [
  'payment.authorized.v1',
  'payment.captured.v1',
  'payment.failed.v1',
  'payment.refunded.v1',
  'payment.voided.v1',
  'payment.expired.v1',
  'payment.payer_data_erased.v1',
  'payment.review_approved.v1',
  'payment.review_rejected.v1',
  'fraud.alert.v1',
  'settlement.completed.v1',
  'payout.paid.v1',
  'payout.failed.v1',
  'settlement.adjusted.v1',
] as const;
export type PaymentEventType = (typeof paymentEventTypes)[number];

const consumerGroupPattern = /^[a-z][a-z0-9_.-]{0,63}$/;

/** Opens the transport EVENT_BUS names (a broker connection for nats and kafka). */
export async function openTransport(settings: EventsVariables, sql: Sql, log: Logger): Promise<BusTransport> {
  const context = { sql, prefix: settings.eventBusPrefix, log };
  switch (settings.eventBus) {
    case 'postgres':
      return postgresTransport(context);
    case 'nats':
      if (settings.natsUrl === undefined) throw new Error('EVENT_BUS=nats needs NATS_URL');
      return natsTransport({ ...context, url: settings.natsUrl });
    case 'kafka':
      if (settings.kafkaBrokers === undefined) throw new Error('EVENT_BUS=kafka needs KAFKA_BROKERS');
      return kafkaTransport({ ...context, brokers: settings.kafkaBrokers });
  }
}

export const eventsModule: ModuleDefinition = {
  manifest: {
    name: 'events',
    settings: eventsSettings,
    migrationsDirectory: new URL('./migrations', import.meta.url).pathname,
    commands: [dlqListCommand, dlqReplayCommand],
  },
  async create(context, faces) {
    const subscriptions = new Map<string, Subscription>();
    const settings = {
      maxAttempts: context.settings(eventsSettings).eventsMaxAttempts,
      retryBaseMs: context.settings(eventsSettings).eventsRetryBaseMs,
      now: () => context.clock.now(),
    };
    // Opened on first use (jobs run in the worker role only); a broker that cannot be reached fails
    // that run, which is logged and tried again at the next tick while the outbox keeps the events.
    let opening: Promise<BusTransport> | undefined;
    const transport = (): Promise<BusTransport> => {
      opening ??= openTransport(context.settings(eventsSettings), context.sql, context.log).catch(
        (error: unknown) => {
          opening = undefined;
          throw error;
        },
      );
      return opening;
    };
    const relay = wakeableJob({
      name: 'events-relay',
      intervalMs: context.settings(eventsSettings).eventsPollIntervalMs,
      channel: 'payflow_events_outbox',
      sql: context.sql,
      log: context.log,
      work: async (signal) => {
        const bus = await transport();
        await relayAll(context.sql, signal, bus.kind === 'postgres' ? {} : { publish: bus.publish });
      },
    });
    const consumers = wakeableJob({
      name: 'events-consumers',
      intervalMs: context.settings(eventsSettings).eventsPollIntervalMs,
      channel: 'payflow_events_log',
      sql: context.sql,
      log: context.log,
      work: async (signal) => {
        const bus = await transport();
        for (const subscription of subscriptions.values()) {
          try {
            await bus.drain(subscription, settings, signal);
          } catch (error) {
            context.log.error(
              { err: error, consumerGroup: subscription.group },
              'consumer group poll failed',
            );
          }
        }
        if (bus.publishDeadLetters) {
          try {
            while ((await mirrorDeadLetters(context.sql, bus)) > 0 && !signal.aborted);
          } catch (error) {
            context.log.error({ err: error }, 'dead letters not mirrored to the broker; will try again');
          }
        }
      },
    });
    const retentionDays = context.settings(eventsSettings).eventsRetentionDays;
    const retention: Job = {
      name: 'events-retention',
      intervalMs: retentionIntervalMs,
      async run(signal) {
        if (retentionDays === 0) return;
        const cutoff = new Date(context.clock.now().getTime() - retentionDays * 86_400_000);
        const pruned = await pruneEvents(context.sql, cutoff, {
          groups: [...subscriptions.keys()],
          signal,
        });
        if (pruned.outbox + pruned.log > 0) context.log.info({ ...pruned, cutoff }, 'old events deleted');
      },
    };
    const face: EventsFace = {
      stage: stageEvent,
      async stats(sql) {
        if (context.settings(eventsSettings).eventBus === 'postgres') return busStats(sql);
        // Only a process whose jobs opened the broker asks it; an api-only process does not connect
        // for a scrape (its consumer lag reads NaN).
        const bus = opening ? await opening.catch(() => undefined) : undefined;
        return busStats(sql, async (group) => (await bus?.lag(group)) ?? Number.NaN);
      },
      async traceContexts(sql, eventIds) {
        if (!tracingEnabled() || eventIds.length === 0) return new Map<string, string>();
        const rows = await sql<{ event_id: string; traceparent: string }[]>`
          select event_id, traceparent from events.log
          where event_id = any(${[...eventIds]}) and traceparent is not null`;
        return new Map(rows.map((row) => [row.event_id, row.traceparent]));
      },
      subscribe(group, types, handler) {
        if (!consumerGroupPattern.test(group)) throw new Error(`consumer group name "${group}" is invalid`);
        if (subscriptions.has(group)) throw new Error(`consumer group "${group}" is already subscribed`);
        subscriptions.set(group, { group, types: [...types], handler });
      },
    };
    const identity = faces['identity'] as { readonly authenticator: RequestAuthenticator } | undefined;
    return {
      name: 'events',
      face,
      jobs: [relay.job, consumers.job, retention],
      registerRoutes(app) {
        if (identity) registerEventRoutes(app, context.sql, identity.authenticator);
      },
      async close() {
        await relay.close();
        await consumers.close();
        if (opening) await (await opening.catch(() => undefined))?.close();
      },
    };
  },
};
