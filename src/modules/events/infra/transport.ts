// The bus port. The relay always writes committed outbox rows to events.log (positions in commit
// order: the durable record, which retries, dead letters and replays point at). A transport then
// carries the events to consumer groups:
//   postgres — groups read events.log from their offsets (nothing more to publish);
//   nats     — the relay also publishes each event to a JetStream stream before it commits; groups are
//              durable pull consumers with explicit acks;
//   kafka    — the relay also sends each event to one topic keyed by payment id; groups are Kafka
//              consumer groups.
// Whatever the transport, a group handles an event through the shared consumer runtime (inbox,
// retries with backoff, per-aggregate order, dead letters), so every transport passes one contract.
import type { Sql } from '../../../platform/db/client.ts';
import type { LogRow, ConsumerSettings, PollResult, Subscription } from './consumer.ts';
import type { DeadLetterMessage } from './dead-letter-mirror.ts';

export type TransportKind = 'postgres' | 'nats' | 'kafka';

export interface BusTransport {
  readonly kind: TransportKind;
  /**
   * Called by the relay inside its transaction once the events have log positions, in position
   * order. Resolves when the broker holds them durably; throwing rolls the relay back, so the rows
   * stay in the outbox and are published again later (brokers deduplicate or the inbox does).
   */
  publish(events: readonly LogRow[]): Promise<void>;
  /** Handles what is waiting for the group now (due retries and new events); returns the totals. */
  drain(subscription: Subscription, settings: ConsumerSettings, signal?: AbortSignal): Promise<PollResult>;
  /**
   * Brokers only: publishes copies of dead letters to `<prefix>.payment.events.dlq` (the event's
   * envelope as the body; dead-letter id, group, attempts and error as headers).
   */
  readonly publishDeadLetters?: (letters: readonly DeadLetterMessage[]) => Promise<void>;
  /** Events the broker holds for the group that it has not acknowledged; undefined if unknown. */
  lag(group: string): Promise<number | undefined>;
  close(): Promise<void>;
}

export interface TransportContext {
  readonly sql: Sql;
  /** EVENT_BUS_PREFIX: names on a shared broker. */
  readonly prefix: string;
}

/** The envelope a broker carries as the message body; the aggregate and merchant travel as headers. */
export const aggregateHeader = 'payflow-aggregate-id';
export const merchantHeader = 'payflow-merchant-id';

export function messageBody(event: LogRow): string {
  return JSON.stringify({
    eventId: event.event_id,
    type: event.type,
    occurredAt: event.occurred_at.toISOString(),
    payload: event.payload,
    // W3C trace context of the staging span (ADR 23), only when the event was traced.
    ...(event.traceparent ? { traceparent: event.traceparent } : {}),
  });
}

const traceparentPattern = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** Reads a broker message back; undefined for a message that is not a PayFlow event envelope. */
export function eventFromMessage(
  body: string,
  header: (name: string) => string | undefined,
): LogRow | undefined {
  let envelope: unknown;
  try {
    envelope = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (envelope === null || typeof envelope !== 'object') return undefined;
  const { eventId, type, occurredAt, payload, traceparent } = envelope as Record<string, unknown>;
  const aggregateId = header(aggregateHeader);
  const merchantId = header(merchantHeader);
  if (
    typeof eventId !== 'string' ||
    !/^evt_[0-9a-hjkmnp-tv-z]{26}$/.test(eventId) ||
    typeof type !== 'string' ||
    typeof occurredAt !== 'string' ||
    Number.isNaN(Date.parse(occurredAt)) ||
    payload === null ||
    typeof payload !== 'object' ||
    Array.isArray(payload) ||
    !aggregateId ||
    !merchantId
  ) {
    return undefined;
  }
  return {
    position: null,
    event_id: eventId,
    type,
    aggregate_id: aggregateId,
    merchant_id: merchantId,
    payload: payload as Record<string, unknown>,
    occurred_at: new Date(occurredAt),
    traceparent: typeof traceparent === 'string' && traceparentPattern.test(traceparent) ? traceparent : null,
  };
}

export const deadLetterHeaders = {
  id: 'payflow-dead-letter-id',
  group: 'payflow-consumer-group',
  attempts: 'payflow-attempts',
  error: 'payflow-error',
} as const;

/** Header values of a dead letter's broker copy (the error on one line, at most 1,000 characters). */
export function deadLetterHeaderValues(letter: DeadLetterMessage): Record<string, string> {
  return {
    [aggregateHeader]: letter.event.aggregate_id,
    [merchantHeader]: letter.event.merchant_id,
    [deadLetterHeaders.id]: letter.id,
    [deadLetterHeaders.group]: letter.consumerGroup,
    [deadLetterHeaders.attempts]: String(letter.attempts),
    [deadLetterHeaders.error]: letter.error.replace(/[\r\n]+/g, ' ').slice(0, 1000),
  };
}

/**
 * How long a broker message may name an event that is not in events.log before it is taken for a
 * stranger's (a database reset while the broker kept its stream, or another deployment on the same
 * prefix) and skipped with an error, instead of holding up the group for good. A relay publishes
 * only committed outbox rows and commits right after, so its own events appear within seconds.
 */
export const unloggedEventPatienceMs = 5 * 60_000;

/** Remembers when each not-yet-logged event was first delivered, per process. */
export class UnloggedEvents {
  private readonly firstSeen = new Map<string, number>();

  constructor(private readonly patienceMs = unloggedEventPatienceMs) {}

  /** True once the event has been delivered without being logged for longer than the patience. */
  givenUp(eventId: string, now = Date.now()): boolean {
    const first = this.firstSeen.get(eventId);
    if (first === undefined) {
      if (this.firstSeen.size >= 10_000) this.firstSeen.clear();
      this.firstSeen.set(eventId, now);
      return false;
    }
    if (now - first < this.patienceMs) return false;
    this.firstSeen.delete(eventId);
    return true;
  }
}

/** Broker-side name of a consumer group: `<prefix>_<group>` with `.` and `-` made `_`. */
export function brokerGroupName(prefix: string, group: string): string {
  return `${prefix}_${group.replace(/[.-]/g, '_')}`;
}
