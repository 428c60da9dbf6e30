// Issue 15: the relay's idempotent producer after a send whose outcome it never learnt. The broker
// appends a batch, its answer is lost (here: the connections drop every answer until the send gives
// up; in the fault test: all brokers killed mid-send), and KafkaJS rolls the batch's sequence
// numbers back although the broker holds them. The relay's next batch is a different one (the outbox
// grew), so its first sequence number is one the broker already has: OUT_OF_ORDER_SEQUENCE_NUMBER,
// which KafkaJS's producer never recovers from; every later publish failed and nothing drained. The
// transport now sends the next batch with a new producer.
// Kafka: KAFKA_BROKERS (.ci/run starts one); skipped without.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Kafka, logLevel, type ISocketFactory } from 'kafkajs';
import { createTestDatabase } from '../../../../test/support/database.ts';
import { createLogger } from '../../../platform/log.ts';
import { newId } from '../../../platform/ids.ts';
import { kafkaTopic, kafkaTransport } from './kafka-transport.ts';
import type { LogRow } from './consumer.ts';

const kafkaBrokers = process.env['KAFKA_BROKERS']?.trim() || undefined;

/** Connections to the broker that, while `losing` is on, drop every answer and then break. */
function lossySockets(): { factory: ISocketFactory; losing: boolean } {
  const control = {
    losing: false,
    factory: (({ host, port, onConnect }) => {
      const socket = net.connect({ host, port }, onConnect);
      socket.setKeepAlive(true, 60_000);
      const emit = socket.emit.bind(socket) as (event: string | symbol, ...args: unknown[]) => boolean;
      let breaking = false;
      socket.emit = ((event: string | symbol, ...args: unknown[]) => {
        if (event === 'data' && control.losing) {
          // The broker has done what was asked; the client never hears of it.
          if (!breaking) {
            breaking = true;
            setTimeout(() => socket.destroy(new Error('test: the answer was lost')), 50);
          }
          return true;
        }
        return emit(event, ...args);
      }) as typeof socket.emit;
      return socket;
    }) as ISocketFactory,
  };
  return control;
}

function event(aggregateId: string): LogRow {
  return {
    position: null,
    event_id: newId('evt'),
    type: 'payment.captured.v1',
    aggregate_id: aggregateId,
    merchant_id: 'mer_test',
    payload: { amount: 900 },
    occurred_at: new Date(),
  };
}

test(
  'a send whose answer was lost: the next, different batch to the same partition is published (a new idempotent producer), not refused forever as out of order',
  {
    skip: kafkaBrokers
      ? false
      : 'KAFKA_BROKERS is unset: start a broker with `npm run kafka:start` (.ci/run does)',
    timeout: 240_000,
  },
  async (t) => {
    const database = await createTestDatabase();
    t.after(() => database.drop());
    const prefix = `k${randomBytes(6).toString('hex')}`;
    const sockets = lossySockets();
    const transport = await kafkaTransport({
      sql: database.sql,
      prefix,
      brokers: kafkaBrokers!.split(','),
      log: createLogger({ level: 'silent' }),
      socketFactory: sockets.factory,
    });
    t.after(() => transport.close());
    const payment = newId('pay'); // one key: every batch goes to the same partition

    await transport.publish([event(payment)]); // the producer has a sequence on that partition
    sockets.losing = true;
    const started = Date.now();
    await assert.rejects(transport.publish([event(payment)]), 'the send whose answers are lost fails');
    t.diagnostic(`the send gave up after ${Date.now() - started} ms`);
    sockets.losing = false;

    // The relay's next batch: the outbox grew, so it is not the batch that failed.
    const next = [event(payment), event(payment)];
    await transport.publish(next);
    await transport.publish([event(payment)]);

    const admin = new Kafka({ brokers: kafkaBrokers!.split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(kafkaTopic(prefix));
      const messages = offsets.reduce((sum, partition) => sum + Number(partition.high), 0);
      // 1 + the lost-answer batch (written once, however often it was retried) + 2 + 1.
      assert.ok(messages >= 4, `${messages} messages in the topic`);
    } finally {
      await admin.disconnect();
    }
  },
);
