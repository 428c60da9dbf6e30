// The events module's public face. `stage` writes a domain event to the transactional outbox inside
// the caller's transaction, so the event commits (or rolls back) with the state change it describes.
import type { TransactionSql } from '../../platform/db/client.ts';
import type { ModuleDefinition } from '../../apps/modules.ts';
import { stageEvent } from './infra/outbox-repository.ts';

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

export interface EventsFace {
  /** Writes the event to the outbox in the caller's transaction; returns its `evt_` id. */
  stage(transaction: TransactionSql, event: EventToStage): Promise<{ readonly eventId: string }>;
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

export const eventsFace: EventsFace = { stage: stageEvent };

export const eventsModule: ModuleDefinition = {
  manifest: {
    name: 'events',
    migrationsDirectory: new URL('./migrations', import.meta.url).pathname,
  },
  async create() {
    return { name: 'events', face: eventsFace };
  },
};
