// The Kafka transport. One topic `<prefix>.payment.events`, keyed by the aggregate (payment) id, so
// a payment's events share a partition and keep their order; the relay sends each batch with an
// idempotent producer before it commits. Each consumer group is a Kafka consumer group
// (`<prefix>_<group>`): a batch of one partition is handled in one PostgreSQL transaction holding the
// group's row (so retries and dead letters stay consistent across partitions and processes), and its
// offset is committed to Kafka after that transaction commits. A crash in between redelivers the
// batch; the inbox keeps each effect single. CI runs the bus contract suite against a real broker
// (`npm run kafka:start`, README "Event bus").
//
// Recovery (issue 15). The idempotent producer numbers each partition's batches; a send that fails
// may still have been written (the broker appended it, then it or the connection died before the
// answer), yet KafkaJS rolls its numbers back, and the relay's next batch, a different one since the
// outbox has grown, starts at a number the broker already holds: OUT_OF_ORDER_SEQUENCE_NUMBER, which
// KafkaJS never recovers from (after all brokers were down every later send failed so and nothing
// drained). So a failed send retires its producer, and the next send starts a new one (a new
// producer id, numbers from 0); what the failed send may have written is sent again, and consumers'
// inboxes keep it single. A consumer is not restarted by KafkaJS once the transport is closing, and
// one that joins its group after close() is stopped, so none outlives it.
import {
  Kafka,
  logLevel,
  type Consumer,
  type ISocketFactory,
  type Producer,
  type ProducerRecord,
} from 'kafkajs';
import type { Logger } from '../../../platform/log.ts';
import { withGroupPoll, type ConsumerSettings, type Subscription } from './consumer.ts';
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

export const kafkaPartitions = 6;

export interface KafkaTransportOptions extends TransportContext {
  readonly brokers: readonly string[];
  readonly log: Logger;
  /** Tests only: how KafkaJS opens its connections (to lose a broker's answer on purpose). */
  readonly socketFactory?: ISocketFactory;
}

export function kafkaTopic(prefix: string): string {
  return `${prefix}.payment.events`;
}

export function kafkaDeadLetterTopic(prefix: string): string {
  return `${prefix}.payment.events.dlq`;
}

/**
 * Stops `consumer` once its fetchers run while `stopping()` holds (a consumer that joined its group
 * after the transport closed). Not from inside the event: KafkaJS emits FETCH_START from the first of
 * its fetchers (one per broker) while it is still starting the others; a disconnect there stops
 * only the fetchers started so far, and each one started after it finds the consumer not running,
 * gets no batch at once and asks again without ever waiting, a microtask loop that starves the
 * event loop for good (on three brokers the fault file froze so, its own timeouts included). Once
 * every fetcher has started, the disconnect stops them all.
 */
export function stopOnceFetchingWhen(consumer: Consumer, stopping: () => boolean): void {
  consumer.on(consumer.events.FETCH_START, () => {
    if (stopping()) setImmediate(() => void consumer.disconnect().catch(() => undefined));
  });
}

export async function kafkaTransport(options: KafkaTransportOptions): Promise<BusTransport> {
  const topic = kafkaTopic(options.prefix);
  const kafka = new Kafka({
    clientId: `payflow-${options.prefix}`,
    brokers: [...options.brokers],
    ...(options.socketFactory ? { socketFactory: options.socketFactory } : {}),
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log }) => {
        const { message, ...rest } = log;
        if (level <= logLevel.ERROR) options.log.error({ kafka: rest }, `kafka: ${message}`);
        else options.log.warn({ kafka: rest }, `kafka: ${message}`);
      },
  });
  const admin = kafka.admin();
  const newProducer = (): Producer => kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const producer = newProducer();
  try {
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic, numPartitions: kafkaPartitions },
        { topic: kafkaDeadLetterTopic(options.prefix), numPartitions: 1 },
      ],
    });
    await producer.connect();
  } catch (error) {
    await admin.disconnect().catch(() => undefined);
    throw new Error(
      `EVENT_BUS=kafka: cannot reach Kafka at ${options.brokers.join(',')} (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  const consumers = new Map<string, Consumer>();
  const unlogged = new UnloggedEvents();
  let closed = false;

  // The producer in use (undefined after a failed send: the next send connects a new one), and
  // retired producers still disconnecting.
  let producing: Promise<Producer> | undefined = Promise.resolve(producer);
  const retiring = new Set<Promise<void>>();
  const retire = (retired: Producer) => {
    const disconnecting = retired
      .disconnect()
      .catch(() => undefined)
      .finally(() => retiring.delete(disconnecting));
    retiring.add(disconnecting);
  };
  const currentProducer = (): Promise<Producer> => {
    if (producing === undefined) {
      const next = newProducer();
      const connecting = next.connect().then(
        () => next,
        async (error: unknown) => {
          if (producing === connecting) producing = undefined;
          await next.disconnect().catch(() => undefined);
          throw error;
        },
      );
      producing = connecting;
    }
    return producing;
  };
  async function send(record: ProducerRecord): Promise<void> {
    if (closed) throw new Error('the Kafka transport is closed');
    const slot = currentProducer();
    const active = await slot;
    try {
      await active.send(record);
    } catch (error) {
      // Whether the broker holds (part of) this send is unknown, and with it the producer's sequence
      // numbers: a new producer sends the next batch.
      if (producing === slot) {
        producing = undefined;
        retire(active);
        options.log.warn({ err: error }, 'Kafka send failed; the next send uses a new idempotent producer');
      }
      throw error;
    }
  }

  async function startConsumer(subscription: Subscription, settings: ConsumerSettings): Promise<void> {
    const groupId = brokerGroupName(options.prefix, subscription.group);
    if (consumers.has(groupId)) return;
    // KafkaJS restarts a consumer after a retriable crash, but not once the transport is closing: a
    // restart timer or a restart under way would otherwise outlive close() (a consumer of a closed
    // transport that rejoins its group, keeping the process alive and taking partitions).
    const consumer = kafka.consumer({
      groupId,
      retry: { retries: 5, restartOnFailure: async () => !closed },
    });
    let crashed = false;
    // A consumer that crashed for good (kafkajs does not restart it) is forgotten, so the next drain
    // starts a new one instead of the group going silent in this process.
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) {
        crashed = true;
        if (consumers.get(groupId) === consumer) consumers.delete(groupId);
        if (!closed)
          options.log.error(
            { err: payload.error, consumerGroup: subscription.group },
            'Kafka consumer crashed',
          );
      }
    });
    // A restart that was already joining the group when close() disconnected it may still get there.
    stopOnceFetchingWhen(consumer, () => closed);
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          if (!isRunning() || isStale() || batch.messages.length === 0) return;
          let taken = 0;
          await withGroupPoll(options.sql, subscription, settings, 'wait', async (poll) => {
            for (const message of batch.messages) {
              const header = (name: string) => {
                const value = message.headers?.[name];
                return value === undefined ? undefined : String(Array.isArray(value) ? value[0] : value);
              };
              const event = eventFromMessage(message.value?.toString('utf8') ?? '', header);
              if (event === undefined) {
                options.log.warn(
                  { topic, offset: message.offset },
                  'Kafka message is not a PayFlow event; skipped',
                );
              } else if ((await poll.consume([event])) === 0) {
                if (!unlogged.givenUp(event.event_id)) break; // not in events.log yet: fetched again from here
                options.log.error(
                  { eventId: event.event_id, consumerGroup: subscription.group },
                  'Kafka message names an event this database never logged; skipped (another deployment on the same EVENT_BUS_PREFIX, or a reset database?)',
                );
              }
              taken += 1;
            }
          });
          const last = batch.messages[taken - 1];
          if (last !== undefined) {
            resolveOffset(last.offset);
            await consumer.commitOffsets([
              {
                topic: batch.topic,
                partition: batch.partition,
                offset: (BigInt(last.offset) + 1n).toString(),
              },
            ]);
          }
          await heartbeat();
          // Stopped before an event whose relay has not committed: give it a moment before the refetch.
          if (taken < batch.messages.length) await new Promise((resolve) => setTimeout(resolve, 200));
        },
      });
      // Crashed for good while joining (KafkaJS reports it before `run` returns): not kept, so the
      // next drain starts the group again.
      if (crashed || closed)
        throw new Error(`the Kafka consumer of ${subscription.group} stopped while starting`);
      consumers.set(groupId, consumer);
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      throw error;
    }
  }

  return {
    kind: 'kafka',
    async publish(events) {
      await send({
        topic,
        acks: -1,
        messages: events.map((event) => ({
          key: event.aggregate_id,
          value: messageBody(event),
          headers: { [aggregateHeader]: event.aggregate_id, [merchantHeader]: event.merchant_id },
        })),
      });
    },
    async publishDeadLetters(letters) {
      await send({
        topic: kafkaDeadLetterTopic(options.prefix),
        acks: -1,
        messages: letters.map((letter) => ({
          key: letter.event.aggregate_id,
          value: messageBody(letter.event),
          headers: deadLetterHeaderValues(letter),
        })),
      });
    },
    async drain(subscription, settings) {
      // New events arrive through the group's running consumer; a poll here retries what is due.
      await startConsumer(subscription, settings);
      const polled = await withGroupPoll(options.sql, subscription, settings, 'skip', async () => undefined);
      return polled?.result ?? { handled: 0, failed: 0, deadLettered: 0 };
    },
    async lag(group) {
      try {
        const [committed, ends] = await Promise.all([
          admin.fetchOffsets({ groupId: brokerGroupName(options.prefix, group), topics: [topic] }),
          admin.fetchTopicOffsets(topic),
        ]);
        const partitions = committed[0]?.partitions ?? [];
        let lag = 0n;
        for (const end of ends) {
          const offset =
            partitions.find((partition) => partition.partition === end.partition)?.offset ?? '-1';
          const from = BigInt(offset) < 0n ? BigInt(end.low) : BigInt(offset);
          lag += BigInt(end.high) - from;
        }
        return Number(lag);
      } catch {
        return undefined;
      }
    },
    async close() {
      closed = true;
      for (const consumer of consumers.values()) await consumer.disconnect().catch(() => undefined);
      consumers.clear();
      const last = await producing?.catch(() => undefined);
      producing = undefined;
      await last?.disconnect().catch(() => undefined);
      await Promise.all([...retiring]);
      await admin.disconnect().catch(() => undefined);
    },
  };
}
