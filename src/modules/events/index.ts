// The events module's public face. `stage` writes a domain event to the transactional outbox inside
// the caller's transaction, so the event commits (or rolls back) with the state change it describes.
// The postgres bus: a relay job moves committed outbox rows into events.log in commit order, and
// consumer groups (`subscribe`) handle them at least once, with an inbox, retries and dead letters.
import type { Queryable, TransactionSql } from '../../platform/db/client.ts';
import type { ModuleDefinition } from '../../apps/modules.ts';
import { dlqListCommand, dlqReplayCommand } from './application/dlq-commands.ts';
import { busStats } from './infra/bus-stats.ts';
import { drainGroup, type Subscription } from './infra/consumer.ts';
import { stageEvent } from './infra/outbox-repository.ts';
import { relayAll } from './infra/relay.ts';
import { wakeableJob } from './infra/wakeable-job.ts';

export { forbiddenPayloadKeys, toJsonPayload } from './domain/envelope.ts';

/** What a module hands to `stage`. */
export interface EventToStage {
  /** Versioned type, `<aggregate>.<event>.v<N>`, e.g. `payment.captured.v1`. */
  readonly type: string;
  /** The aggregate the event is about (a payment id); events of one aggregate keep their order. */
  readonly aggregateId: string;
  readonly merchantId: string;
  /**
   * JSON-safe data. `bigint` values (amounts) are written as JSON integers (amountToJson: must be
   * within Number.MAX_SAFE_INTEGER), Dates as ISO 8601 strings. Never card data: a key named
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
  /** Per consumer group: events in the log after its offset, and events waiting in its retries. */
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
}

/** The payment event types (issue 6); `settlement.completed.v1` joins when settlement lands. */
export const paymentEventTypes = [
  'payment.authorized.v1',
  'payment.captured.v1',
  'payment.failed.v1',
  'payment.refunded.v1',
  'payment.voided.v1',
  'payment.expired.v1',
] as const;
export type PaymentEventType = (typeof paymentEventTypes)[number];

const consumerGroupPattern = /^[a-z][a-z0-9_.-]{0,63}$/;

export const eventsModule: ModuleDefinition = {
  manifest: {
    name: 'events',
    migrationsDirectory: new URL('./migrations', import.meta.url).pathname,
    commands: [dlqListCommand, dlqReplayCommand],
  },
  async create(context) {
    const subscriptions = new Map<string, Subscription>();
    const settings = {
      maxAttempts: context.config.eventsMaxAttempts,
      retryBaseMs: context.config.eventsRetryBaseMs,
      now: () => context.clock.now(),
    };
    const relay = wakeableJob({
      name: 'events-relay',
      intervalMs: context.config.eventsPollIntervalMs,
      channel: 'payflow_events_outbox',
      sql: context.sql,
      log: context.log,
      work: async (signal) => void (await relayAll(context.sql, signal)),
    });
    const consumers = wakeableJob({
      name: 'events-consumers',
      intervalMs: context.config.eventsPollIntervalMs,
      channel: 'payflow_events_log',
      sql: context.sql,
      log: context.log,
      work: async (signal) => {
        for (const subscription of subscriptions.values()) {
          try {
            await drainGroup(context.sql, subscription, settings, signal);
          } catch (error) {
            context.log.error(
              { err: error, consumerGroup: subscription.group },
              'consumer group poll failed',
            );
          }
        }
      },
    });
    const face: EventsFace = {
      stage: stageEvent,
      stats: busStats,
      subscribe(group, types, handler) {
        if (!consumerGroupPattern.test(group)) throw new Error(`consumer group name "${group}" is invalid`);
        if (subscriptions.has(group)) throw new Error(`consumer group "${group}" is already subscribed`);
        subscriptions.set(group, { group, types: [...types], handler });
      },
    };
    return {
      name: 'events',
      face,
      jobs: [relay.job, consumers.job],
      async close() {
        await relay.close();
        await consumers.close();
      },
    };
  },
};
