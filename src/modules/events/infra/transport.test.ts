import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventFromMessage, UnloggedEvents } from './transport.ts';

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
