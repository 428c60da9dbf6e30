// The consumer runtime, shared by every bus transport. A poll of one group runs in one transaction
// holding the group's row in events.consumer_offsets (one poller per group at a time, any number of
// processes). Each event is handled in a savepoint together with its inbox row, so its database
// effects happen once per group however often the transport delivers it. A failed event waits in
// events.retries with exponential backoff and jitter; later events of the same aggregate wait behind
// it (per-payment order), other events flow. After `maxAttempts` failures the event is dead-lettered
// (topic `payment.events.dlq`) and its aggregate moves on. Retries and dead letters point at the
// event's row in events.log, which the relay writes whatever the transport.
import type { Sql, TransactionSql } from '../../../platform/db/client.ts';
import { newId } from '../../../platform/ids.ts';
import { contextFrom, SpanKind, withSpan } from '../../../platform/tracing.ts';
import { retryDelayMs } from '../domain/retry.ts';
import type { EventEnvelope, EventHandler } from '../index.ts';

/** Events read from the log per poll. */
export const consumerBatchMax = 200;
/** Error text kept per failure (the start of the message). */
export const errorTextMax = 2000;

export interface Subscription {
  readonly group: string;
  /** Event types to handle (e.g. `payment.captured.v1`); others are skipped. Empty: all. */
  readonly types: readonly string[];
  readonly handler: EventHandler;
}

export interface ConsumerSettings {
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
  readonly now: () => Date;
  readonly random?: () => number;
}

export interface PollResult {
  readonly handled: number;
  readonly failed: number;
  readonly deadLettered: number;
}

/** An event as a transport delivers it. `position` is known when it was read from events.log. */
export type LogRow = {
  position: bigint | null;
  event_id: string;
  type: string;
  aggregate_id: string;
  merchant_id: string;
  payload: Record<string, unknown>;
  occurred_at: Date;
  /** W3C trace context of the span that staged it (ADR 23); null or absent when not traced. */
  traceparent?: string | null;
};

type RetryRow = LogRow & { attempts: number };

function envelopeOf(row: LogRow): EventEnvelope {
  return {
    eventId: row.event_id,
    type: row.type,
    occurredAt: row.occurred_at.toISOString(),
    payload: row.payload,
  };
}

function errorText(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return (text.trim() === '' ? 'handler failed without a message' : text).slice(0, errorTextMax);
}

export class GroupPoll {
  readonly result = { handled: 0, failed: 0, deadLettered: 0 };
  /** Aggregates with an event still waiting in retries: their later events must wait too. */
  readonly blocked = new Set<string>();
  /** The last handled event's savepoint is still open; the next event's round trip releases it. */
  private releasePending = false;

  constructor(
    private readonly transaction: TransactionSql,
    private readonly subscription: Subscription,
    private readonly settings: ConsumerSettings,
  ) {}

  private get group(): string {
    return this.subscription.group;
  }

  /** Handles the event in a savepoint with its inbox row; returns the error, if any. */
  private async attempt(row: LogRow): Promise<unknown> {
    try {
      // The handler's span continues the trace that staged the event (ADR 23).
      await withSpan(
        `events.consume ${row.type}`,
        {
          kind: SpanKind.CONSUMER,
          parent: contextFrom(row.traceparent),
          attributes: {
            'messaging.consumer.group.name': this.group,
            'messaging.message.id': row.event_id,
            'payflow.aggregate_id': row.aggregate_id,
          },
        },
        () => this.attemptUntraced(row),
      );
      this.result.handled += 1;
      return undefined;
    } catch (error) {
      this.result.failed += 1;
      return error ?? new Error('handler failed');
    }
  }

  private async attemptUntraced(row: LogRow): Promise<void> {
    // SAVEPOINT and the inbox row go out together (one round trip; `transaction.savepoint()` would
    // wait for SAVEPOINT alone), with the RELEASE of the previous handled event's savepoint in front.
    // Savepoints of one name nest: RELEASE and ROLLBACK TO take the newest, so at most one handled
    // event's savepoint is open at a time (what runs in it until the next event is this poll's own
    // bookkeeping, which commits or rolls back with the poll anyway); COMMIT releases the last one.
    const release = this.releasePending ? [this.transaction`release savepoint payflow_event`] : [];
    this.releasePending = false;
    const answers = await Promise.all([
      ...release,
      this.transaction`savepoint payflow_event`,
      this.transaction`
        insert into events.inbox (consumer_group, event_id) values (${this.group}, ${row.event_id})
        on conflict do nothing`,
    ]);
    const inserted = answers[answers.length - 1]!;
    try {
      // inserted.count 0: handled before (a replay or a redelivery), no second effect.
      if (inserted.count === 1)
        await this.subscription.handler(envelopeOf(row), {
          transaction: this.transaction,
          aggregateId: row.aggregate_id,
          merchantId: row.merchant_id,
        });
    } catch (error) {
      await this.transaction`rollback to savepoint payflow_event`;
      await this.transaction`release savepoint payflow_event`;
      throw error;
    }
    this.releasePending = true;
  }

  private async deadLetter(row: LogRow, attempts: number, error: unknown): Promise<void> {
    const inserted = await this.transaction`
      insert into events.dead_letters (id, consumer_group, position, error, attempts)
      select ${newId('dlq')}, ${this.group}, log.position, ${errorText(error)}, ${attempts}
      from events.log log where log.event_id = ${row.event_id}`;
    if (inserted.count !== 1) throw new EventNotLoggedError(row.event_id);
    this.result.deadLettered += 1;
  }

  private nextAttemptAt(failedAttempts: number): Date {
    const random = this.settings.random ?? Math.random;
    return new Date(
      this.settings.now().getTime() + retryDelayMs(failedAttempts, this.settings.retryBaseMs, random()),
    );
  }

  /** Retries the first waiting event of each aggregate whose time has come. */
  async retryDue(): Promise<void> {
    const heads = await this.transaction<(RetryRow & { next_attempt_at: Date })[]>`
      select distinct on (retry.aggregate_id)
             log.position, log.event_id, log.type, log.aggregate_id, log.merchant_id, log.payload,
             log.occurred_at, log.traceparent,
             retry.attempts, retry.next_attempt_at
      from events.retries retry join events.log log on log.position = retry.position
      where retry.consumer_group = ${this.group}
      order by retry.aggregate_id, retry.position`;
    for (const head of heads) {
      this.blocked.add(head.aggregate_id);
      if (head.next_attempt_at > this.settings.now()) continue;
      if ((await this.logOrder(head))?.behind) {
        // An earlier event of this aggregate has not been delivered yet (a broker redelivers it).
        await this.transaction`
          update events.retries set next_attempt_at = ${this.orderWaitUntil()}
          where consumer_group = ${this.group} and position = ${head.position}`;
        continue;
      }
      const error = await this.attempt(head);
      if (error === undefined) {
        await this.transaction`
          delete from events.retries where consumer_group = ${this.group} and position = ${head.position}`;
        continue;
      }
      const attempts = head.attempts + 1;
      if (attempts >= this.settings.maxAttempts) {
        await this.deadLetter(head, attempts, error);
        await this.transaction`
          delete from events.retries where consumer_group = ${this.group} and position = ${head.position}`;
        continue;
      }
      await this.transaction`
        update events.retries
        set attempts = ${attempts}, next_attempt_at = ${this.nextAttemptAt(attempts)}, last_error = ${errorText(error)}
        where consumer_group = ${this.group} and position = ${head.position}`;
    }
  }

  private async wait(row: LogRow, attempts: number, nextAttemptAt: Date, error: unknown): Promise<void> {
    this.blocked.add(row.aggregate_id);
    // A redelivered event may already wait here (a transport that delivers twice): keep the first.
    const inserted = await this.transaction`
      insert into events.retries (consumer_group, position, aggregate_id, attempts, next_attempt_at, last_error)
      select ${this.group}, log.position, ${row.aggregate_id}, ${attempts}, ${nextAttemptAt},
             ${error === undefined ? null : errorText(error)}
      from events.log log where log.event_id = ${row.event_id}
      on conflict do nothing`;
    if (inserted.count === 0) await this.assertLogged(row);
  }

  private async assertLogged(row: LogRow): Promise<void> {
    const [logged] = await this.transaction`select 1 from events.log where event_id = ${row.event_id}`;
    if (logged === undefined) throw new EventNotLoggedError(row.event_id);
  }

  /**
   * Where the event stands in the log for this group: its position, and whether an earlier event of
   * its aggregate (of a type the group takes) is still neither handled, waiting in retries nor dead.
   * Undefined when the event is not in the log yet (its relay has not committed).
   */
  private async logOrder(row: LogRow): Promise<{ position: bigint; behind: boolean } | undefined> {
    const types = [...this.subscription.types];
    const [order] = await this.transaction<{ position: bigint; behind: boolean }[]>`
      select log.position, exists (
        select 1 from events.log earlier
        where earlier.aggregate_id = log.aggregate_id and earlier.position < log.position
          and (${types.length === 0} or earlier.type = any(${types}::text[]))
          and not exists (select 1 from events.inbox inbox
                          where inbox.consumer_group = ${this.group} and inbox.event_id = earlier.event_id)
          and not exists (select 1 from events.retries retry
                          where retry.consumer_group = ${this.group} and retry.position = earlier.position)
          and not exists (select 1 from events.dead_letters dead
                          where dead.consumer_group = ${this.group} and dead.position = earlier.position
                            and dead.replayed_at is null)
      ) as behind
      from events.log log where log.event_id = ${row.event_id}`;
    return order;
  }

  private orderWaitUntil(): Date {
    return new Date(this.settings.now().getTime() + orderWaitMs);
  }

  /**
   * Handles delivered events in order. From events.log (the postgres transport) they come in log
   * order. From a broker (`position` null) the order may differ after a redelivery, so each event is
   * checked against the log first: one behind an undelivered earlier event waits in events.retries.
   * Returns how many events were taken (handled, parked or filtered out); it stops before an event
   * that is not in the log yet, which the broker must deliver again.
   */
  async consume(rows: readonly LogRow[]): Promise<number> {
    const types = new Set(this.subscription.types);
    let taken = 0;
    for (const row of rows) {
      if (types.size > 0 && !types.has(row.type)) {
        taken += 1;
        continue;
      }
      if (row.position === null) {
        const order = await this.logOrder(row);
        if (order === undefined) return taken;
        if (order.behind && !this.blocked.has(row.aggregate_id)) {
          await this.wait(row, 0, this.orderWaitUntil(), undefined);
          taken += 1;
          continue;
        }
      }
      taken += 1;
      if (this.blocked.has(row.aggregate_id)) {
        await this.wait(row, 0, this.settings.now(), undefined);
        continue;
      }
      const error = await this.attempt(row);
      if (error === undefined) continue;
      if (this.settings.maxAttempts <= 1) await this.deadLetter(row, 1, error);
      else await this.wait(row, 1, this.nextAttemptAt(1), error);
    }
    return taken;
  }
}

/** How long an event behind an undelivered earlier event waits before it is looked at again. */
export const orderWaitMs = 1000;

/**
 * A broker delivered an event whose relay transaction has not committed (or rolled back and will
 * publish it again): it cannot be parked yet. `consume` stops before such an event; this error is
 * the guard should one reach the parking steps anyway (the poll rolls back, the broker redelivers).
 */
export class EventNotLoggedError extends Error {
  constructor(eventId: string) {
    super(`event ${eventId} is not in events.log yet; it will be redelivered`);
    this.name = 'EventNotLoggedError';
  }
}

const groupsWithOffsetRow = new WeakMap<Sql, Set<string>>();

/**
 * Runs one poll of a group: locks the group's row (`wait`: block until free; otherwise skip when
 * another process polls it), retries what is due, then lets `consume` hand over new events.
 * Returns undefined when the group was busy elsewhere.
 */
export async function withGroupPoll<T>(
  sql: Sql,
  subscription: Subscription,
  settings: ConsumerSettings,
  lock: 'skip' | 'wait',
  consume: (poll: GroupPoll, transaction: TransactionSql) => Promise<T>,
): Promise<{ readonly result: PollResult; readonly value: T } | undefined> {
  // The group's offset row is created once per process (rows are never deleted), not every poll.
  const known = groupsWithOffsetRow.get(sql) ?? new Set<string>();
  groupsWithOffsetRow.set(sql, known);
  if (!known.has(subscription.group)) {
    await sql`
      insert into events.consumer_offsets (consumer_group) values (${subscription.group})
      on conflict do nothing`;
    known.add(subscription.group);
  }
  return sql.begin(async (transaction) => {
    // Waiting for the group is bounded (a Kafka batch then fails and is fetched again).
    if (lock === 'wait') await transaction`select set_config('lock_timeout', '10000', true)`;
    const [offset] =
      lock === 'skip'
        ? await transaction`
            select 1 from events.consumer_offsets
            where consumer_group = ${subscription.group} for update skip locked`
        : await transaction`
            select 1 from events.consumer_offsets where consumer_group = ${subscription.group} for update`;
    if (offset === undefined) return undefined;
    if (lock === 'wait') await transaction`select set_config('lock_timeout', '0', true)`;
    const poll = new GroupPoll(transaction, subscription, settings);
    await poll.retryDue();
    const value = await consume(poll, transaction);
    return { result: poll.result, value };
  });
}

/**
 * Polls one group of the postgres transport once: events after the group's offset in events.log.
 * A group another process is polling right now is skipped.
 */
export async function pollGroup(
  sql: Sql,
  subscription: Subscription,
  settings: ConsumerSettings,
): Promise<PollResult> {
  const polled = await withGroupPoll(sql, subscription, settings, 'skip', async (poll, transaction) => {
    const [offset] = await transaction<{ position: bigint }[]>`
      select position from events.consumer_offsets where consumer_group = ${subscription.group}`;
    const rows = await transaction<(LogRow & { position: bigint })[]>`
      select position, event_id, type, aggregate_id, merchant_id, payload, occurred_at, traceparent
      from events.log where position > ${offset!.position} order by position limit ${consumerBatchMax}`;
    await poll.consume(rows);
    const last = rows.at(-1)?.position;
    if (last !== undefined) {
      await transaction`
        update events.consumer_offsets set position = ${last}, updated_at = now()
        where consumer_group = ${subscription.group}`;
    }
  });
  return polled?.result ?? { handled: 0, failed: 0, deadLettered: 0 };
}

/** Polls until a poll finds nothing more to do now (or the signal aborts). */
export async function drainGroup(
  sql: Sql,
  subscription: Subscription,
  settings: ConsumerSettings,
  signal?: AbortSignal,
): Promise<PollResult> {
  const total = { handled: 0, failed: 0, deadLettered: 0 };
  for (;;) {
    if (signal?.aborted) return total;
    const before = await offsetOf(sql, subscription.group);
    const result = await pollGroup(sql, subscription, settings);
    total.handled += result.handled;
    total.failed += result.failed;
    total.deadLettered += result.deadLettered;
    const after = await offsetOf(sql, subscription.group);
    if (after === before && result.handled === 0 && result.deadLettered === 0) return total;
  }
}

async function offsetOf(sql: Sql, group: string): Promise<bigint> {
  const [row] = await sql<{ position: bigint }[]>`
    select position from events.consumer_offsets where consumer_group = ${group}`;
  return row?.position ?? 0n;
}
