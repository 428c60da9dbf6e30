import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventFromMessage, messageBody, UnloggedEvents } from './transport.ts';

test('an event a broker keeps naming without it being logged is given up only after the patience', () => {
  const unlogged = new UnloggedEvents(1000);
  assert.equal(unlogged.givenUp('evt_a', 0), false, 'first delivery');
  assert.equal(unlogged.givenUp('evt_a', 999), false, 'inside the patience');
  assert.equal(unlogged.givenUp('evt_b', 999), false, 'another event has its own clock');
  assert.equal(unlogged.givenUp('evt_a', 1000), true, 'past the patience');
  assert.equal(unlogged.givenUp('evt_a', 1001), false, 'given up once; a later delivery starts over');
  assert.equal(unlogged.givenUp('evt_b', 1998), false);
  assert.equal(unlogged.givenUp('evt_b', 1999), true);
});

test('only a PayFlow envelope with its aggregate and merchant headers is read back from a broker', () => {
  const body = JSON.stringify({
    eventId: 'evt_06h1b0mz9hygfd9jjbar558zpg',
    type: 'payment.captured.v1',
    occurredAt: '2026-11-26T01:40:12.121Z',
    payload: { amount: 800 },
  });
  const headers: Record<string, string> = {
    'payflow-aggregate-id': 'pay_1',
    'payflow-merchant-id': 'mer_1',
  };
  const event = eventFromMessage(body, (name) => headers[name]);
  assert.equal(event?.event_id, 'evt_06h1b0mz9hygfd9jjbar558zpg');
  assert.equal(event?.position, null);
  assert.equal(event?.occurred_at.toISOString(), '2026-11-26T01:40:12.121Z');
  assert.equal(
    eventFromMessage(body, () => undefined),
    undefined,
    'no headers',
  );
  assert.equal(
    eventFromMessage('not json', (name) => headers[name]),
    undefined,
  );
  assert.equal(
    eventFromMessage('[]', (name) => headers[name]),
    undefined,
  );
  assert.equal(
    eventFromMessage(JSON.stringify({ ...JSON.parse(body), eventId: 'x' }), (name) => headers[name]),
    undefined,
  );
});

test('the W3C trace context travels in the envelope; a malformed one is dropped, not trusted', () => {
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const event = {
    position: 1n,
    event_id: 'evt_06h1b0mz9hygfd9jjbar558zpg',
    type: 'payment.captured.v1',
    aggregate_id: 'pay_1',
    merchant_id: 'mer_1',
    payload: { amount: 800 },
    occurred_at: new Date('2026-11-26T01:40:12.121Z'),
    traceparent,
  };
  const headers: Record<string, string> = { 'payflow-aggregate-id': 'pay_1', 'payflow-merchant-id': 'mer_1' };
  const body = messageBody(event);
  assert.equal(JSON.parse(body).traceparent, traceparent);
  assert.equal(eventFromMessage(body, (name) => headers[name])?.traceparent, traceparent);
  assert.equal(JSON.parse(messageBody({ ...event, traceparent: null })).traceparent, undefined);
  const forged = JSON.stringify({ ...JSON.parse(body), traceparent: '00-zz\n' });
  assert.equal(eventFromMessage(forged, (name) => headers[name])?.traceparent, null);
});
