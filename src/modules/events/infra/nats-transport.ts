// The NATS JetStream transport. One stream `<prefix>_events` holds subjects `<prefix>.events.<type>`;
// the relay publishes each event with its event id as `Nats-Msg-Id`, so a relay that published and
// then rolled back publishes again without a duplicate inside the stream's duplicate window. Each
// consumer group is a durable pull consumer with explicit acks. A poll holds the group's row lock in
// PostgreSQL while it pulls (no wait) and handles a batch, so one process at a time consumes a group
// and per-payment order is kept; acks go out after the handling transaction commits, and a poll that
// fails naks its batch for redelivery. What the handler's inbox has seen is not handled twice.
import { connect, createInbox, headers, nanos, type Msg, type NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
} from '@nats-io/jetstream';
import type { Logger } from '../../../platform/log.ts';
import { consumerBatchMax, withGroupPoll, type PollResult } from './consumer.ts';
import {
  aggregateHeader,
  brokerGroupName,
  deadLetterHeaderValues,
  eventFromMessage,
  merchantHeader,
  messageBody,
  UnloggedEvents,
  type BusTransport,
  type TransportContext,
} from './transport.ts';

/** How long the broker waits for an ack before redelivering (a process that died mid-batch). */
export const natsAckWaitMs = 30_000;
/** Deadline of one publish or pull request while the server is unreachable. */
export const natsRequestTimeoutMs = 5_000;

const decoder = new TextDecoder();

export interface NatsTransportOptions extends TransportContext {
  readonly url: string;
  readonly log: Logger;
}

export async function natsTransport(options: NatsTransportOptions): Promise<BusTransport> {
  const url = new URL(options.url);
  let connection: NatsConnection;
  try {
    connection = await connect({
      servers: `${url.hostname}:${url.port || '4222'}`,
      ...(url.username
        ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) }
        : {}),
      ...(url.protocol === 'tls:' ? { tls: {} } : {}),
      name: `payflow-${options.prefix}`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      timeout: natsRequestTimeoutMs,
    });
  } catch (error) {
    throw new Error(
      `EVENT_BUS=nats: cannot connect to NATS at ${url.host} (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  // While disconnected, requests would sit in the client's buffer and go out after a reconnect, when
  // nobody waits for them (a stale pull would hold messages until their ack wait ends): refuse them.
  let connected = true;
  void (async () => {
    for await (const status of connection.status()) {
      if (status.type === 'disconnect') connected = false;
      if (status.type === 'reconnect') connected = true;
      if (status.type === 'disconnect' || status.type === 'reconnect') {
        options.log.warn({ natsStatus: status.type }, `NATS ${status.type}`);
      }
    }
  })().catch(() => undefined);
  const assertConnected = (): void => {
    if (!connected || connection.isClosed()) throw new Error('NATS is not connected; will try again');
  };
  const names = natsNames(options.prefix);
  let manager: JetStreamManager;
  try {
    manager = await jetstreamManager(connection, { timeout: natsRequestTimeoutMs });
    await ensureStream(manager, names);
  } catch (error) {
    // The caller retries at its next tick: a connection left open here would never be closed.
    await connection.close().catch(() => undefined);
    throw error;
  }
  const client = jetstream(connection, { timeout: natsRequestTimeoutMs });
  const prepared = new Set<string>();
  const unlogged = new UnloggedEvents();

  async function ensureConsumer(group: string): Promise<string> {
    const durable = brokerGroupName(options.prefix, group);
    if (prepared.has(durable)) return durable;
    const config = {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(natsAckWaitMs),
      deliver_policy: DeliverPolicy.All,
      filter_subject: `${names.subjectPrefix}.>`,
      max_ack_pending: 10 * consumerBatchMax,
      max_deliver: -1,
    };
    try {
      await manager.consumers.info(names.stream, durable);
    } catch {
      await manager.consumers.add(names.stream, config);
    }
    prepared.add(durable);
    return durable;
  }

  /**
   * Pulls what is waiting now (no_wait): the raw JetStream pull request. The server sends the
   * messages it has, then a status (404 when none, 408 when fewer than the batch); a full batch ends
   * by its count. A hard deadline ends a pull whose status never comes (a connection lost midway):
   * what arrived is handled, the rest is redelivered after the ack wait.
   */
  async function pullNow(durable: string, max: number): Promise<Msg[]> {
    assertConnected();
    const inbox = createInbox();
    const messages: Msg[] = [];
    const subscription = connection.subscribe(inbox);
    const deadline = setTimeout(() => subscription.unsubscribe(), natsRequestTimeoutMs);
    connection.publish(
      `$JS.API.CONSUMER.MSG.NEXT.${names.stream}.${durable}`,
      JSON.stringify({ batch: max, no_wait: true }),
      { reply: inbox },
    );
    try {
      for await (const message of subscription) {
        const code = message.headers?.code ?? 0;
        if (code >= 400 || (message.data.length === 0 && message.headers?.status)) break;
        messages.push(message);
        if (messages.length >= max) break;
      }
    } finally {
      clearTimeout(deadline);
      subscription.unsubscribe();
    }
    return messages;
  }

  async function settle(messages: readonly Msg[], reply: '+ACK' | '-NAK'): Promise<void> {
    for (const message of messages) if (message.reply) connection.publish(message.reply, reply);
    await connection.flush();
  }

  return {
    kind: 'nats',
    async publish(events) {
      for (const event of events) {
        assertConnected();
        const messageHeaders = headers();
        messageHeaders.set(aggregateHeader, event.aggregate_id);
        messageHeaders.set(merchantHeader, event.merchant_id);
        await client.publish(`${names.subjectPrefix}.${event.type}`, messageBody(event), {
          msgID: event.event_id,
          headers: messageHeaders,
          timeout: natsRequestTimeoutMs,
        });
      }
    },
    async publishDeadLetters(letters) {
      for (const letter of letters) {
        assertConnected();
        const messageHeaders = headers();
        for (const [name, value] of Object.entries(deadLetterHeaderValues(letter)))
          messageHeaders.set(name, value);
        await client.publish(names.deadLetterSubject, messageBody(letter.event), {
          msgID: letter.id,
          headers: messageHeaders,
          timeout: natsRequestTimeoutMs,
        });
      }
    },
    async drain(subscription, settings, signal) {
      const durable = await ensureConsumer(subscription.group);
      const total = { handled: 0, failed: 0, deadLettered: 0 };
      for (;;) {
        if (signal?.aborted) return total;
        let pulled: Msg[] = [];
        let taken = 0;
        let polled: { readonly result: PollResult; readonly value: void } | undefined;
        try {
          polled = await withGroupPoll(options.sql, subscription, settings, 'skip', async (poll) => {
            pulled = await pullNow(durable, consumerBatchMax);
            for (const message of pulled) {
              const event = eventFromMessage(decoder.decode(message.data), (name) =>
                message.headers?.get(name),
              );
              if (event === undefined) {
                options.log.warn(
                  { subject: message.subject },
                  'NATS message is not a PayFlow event; skipped',
                );
              } else if ((await poll.consume([event])) === 0) {
                if (!unlogged.givenUp(event.event_id)) break; // not in events.log yet: it and the rest come again
                options.log.error(
                  { eventId: event.event_id, consumerGroup: subscription.group },
                  'NATS message names an event this database never logged; skipped (another deployment on the same EVENT_BUS_PREFIX, or a reset database?)',
                );
              }
              taken += 1;
            }
          });
        } catch (error) {
          await settle(pulled, '-NAK').catch(() => undefined);
          throw error;
        }
        await settle(pulled.slice(0, taken), '+ACK');
        await settle(pulled.slice(taken), '-NAK');
        if (polled === undefined) return total;
        total.handled += polled.result.handled;
        total.failed += polled.result.failed;
        total.deadLettered += polled.result.deadLettered;
        if (taken < pulled.length) return total;
        if (pulled.length === 0) return total;
      }
    },
    async lag(group) {
      try {
        const info = await manager.consumers.info(names.stream, brokerGroupName(options.prefix, group));
        return info.num_pending + info.num_ack_pending;
      } catch {
        return undefined;
      }
    },
    async close() {
      await connection.drain().catch(() => connection.close());
    },
  };
}

export interface NatsNames {
  readonly stream: string;
  readonly subjectPrefix: string;
  readonly deadLetterStream: string;
  readonly deadLetterSubject: string;
}

export function natsNames(prefix: string): NatsNames {
  return {
    stream: `${prefix}_events`,
    subjectPrefix: `${prefix}.events`,
    deadLetterStream: `${prefix}_dlq`,
    deadLetterSubject: `${prefix}.payment.events.dlq`,
  };
}

async function ensureStream(manager: JetStreamManager, names: NatsNames): Promise<void> {
  const streams = [
    { name: names.stream, subjects: [`${names.subjectPrefix}.>`] },
    { name: names.deadLetterStream, subjects: [names.deadLetterSubject] },
  ];
  for (const stream of streams) {
    try {
      await manager.streams.info(stream.name);
    } catch {
      await manager.streams.add({
        ...stream,
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        duplicate_window: nanos(2 * 60_000),
      });
    }
  }
}
