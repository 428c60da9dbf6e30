// The simulator through real HTTP: test card outcomes, idempotency by reference, capture, refund and
// void limits, inquiries, outages and request validation.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningSimulator } from './index.ts';
import {
  authorizeCard,
  cardAuthorization,
  getJson,
  inquire,
  newReference,
  postJson,
  startTestSimulator,
} from './test-support.ts';

let simulator: RunningSimulator;

before(async () => {
  simulator = await startTestSimulator();
});

after(async () => {
  await simulator.close();
});

const expectedCardOutcomes: ReadonlyArray<readonly [string, string, string | undefined]> = [
  ['4242424242424242', 'approved', undefined],
  ['5555555555554444', 'approved', undefined],
  ['4000000000000002', 'declined', 'card_declined'],
  ['4000000000009995', 'declined', 'insufficient_funds'],
  ['4000000000009987', 'declined', 'lost_card'],
  ['4000000000009979', 'declined', 'stolen_card'],
  ['4000000000000069', 'declined', 'expired_card'],
  ['4000000000000127', 'declined', 'incorrect_cvc'],
  ['4000000000000119', 'error', 'processing_error'],
  ['4000000000000259', 'approved', undefined],
  ['4000000000005126', 'approved', undefined],
  ['4242424242424241', 'declined', 'incorrect_number'],
  // Luhn-valid numbers outside the table are approved (American Express test number, 15 digits).
  ['378282246310005', 'approved', undefined],
];

test('every test card gives its outcome', async () => {
  for (const [number, status, declineCode] of expectedCardOutcomes) {
    const response = await authorizeCard(simulator.url, number, 2500);
    assert.equal(response.statusCode, 200, number);
    assert.equal(response.body.status, status, number);
    assert.equal(response.body.declineCode, declineCode, number);
    assert.equal(response.body.approvedAmount, status === 'approved' ? 2500 : undefined, number);
    assert.match(String(response.body.authorizationId), /^authorization_[0-9a-f]{24}$/);
  }
});

test('a wallet network token decides the outcome like a card number', async () => {
  for (const [networkToken, status] of [
    ['4242424242424242', 'approved'],
    ['4000000000009995', 'declined'],
  ] as const) {
    const response = await postJson(simulator.url, '/v1/authorizations', {
      reference: newReference('wallet'),
      amount: 700,
      currency: 'USD',
      method: 'wallet',
      wallet: {
        type: 'apple_pay',
        networkToken,
        cryptogram: 'AgAAAAAABk4DWZ4C28yUQAAAAAA=',
        expMonth: 1,
        expYear: 2031,
      },
    });
    assert.equal(response.statusCode, 200);
    assert.equal(response.body.status, status);
    assert.equal(response.body.method, 'wallet');
  }
});

test('the same reference and body replays the stored answer, whatever the key order', async () => {
  const request = cardAuthorization(newReference('replay'), '4242424242424242');
  const first = await postJson(simulator.url, '/v1/authorizations', request);
  const reordered = {
    card: request.card,
    method: request.method,
    currency: request.currency,
    amount: request.amount,
    reference: request.reference,
  };
  const second = await postJson(simulator.url, '/v1/authorizations', reordered);
  assert.equal(first.statusCode, 200);
  assert.deepEqual(second, first);
});

test('concurrent requests with one reference create one authorization', async () => {
  const request = cardAuthorization(newReference('concurrent'), '4242424242424242');
  const responses = await Promise.all(
    Array.from({ length: 10 }, () => postJson(simulator.url, '/v1/authorizations', request)),
  );
  const authorizationIds = new Set(responses.map((response) => response.body.authorizationId));
  assert.equal(authorizationIds.size, 1);
  assert.ok(responses.every((response) => response.statusCode === 200));
});

test('the same reference with a different body or operation is a reference_mismatch', async () => {
  const request = cardAuthorization(newReference('mismatch'), '4242424242424242', 1000);
  const first = await postJson(simulator.url, '/v1/authorizations', request);
  const changed = await postJson(simulator.url, '/v1/authorizations', { ...request, amount: 1001 });
  assert.equal(changed.statusCode, 409);
  assert.equal(changed.body.error, 'reference_mismatch');
  const asCapture = await postJson(
    simulator.url,
    `/v1/authorizations/${String(first.body.authorizationId)}/captures`,
    {
      reference: request.reference,
      amount: 1000,
    },
  );
  assert.equal(asCapture.statusCode, 409);
  assert.equal(asCapture.body.error, 'reference_mismatch');
  const stored = await inquire(simulator.url, request.reference);
  assert.equal(stored.body.kind, 'authorization');
  assert.equal(stored.body.approvedAmount, 1000);
});

async function approvedAuthorizationId(amount: number): Promise<string> {
  const response = await authorizeCard(simulator.url, '4242424242424242', amount);
  assert.equal(response.body.status, 'approved');
  return String(response.body.authorizationId);
}

function operate(authorizationId: string, operation: 'captures' | 'refunds' | 'voids', amount?: number) {
  const body = { reference: newReference(operation), ...(amount !== undefined && { amount }) };
  return postJson(simulator.url, `/v1/authorizations/${authorizationId}/${operation}`, body);
}

test('captures take at most the approved amount remaining', async () => {
  const authorizationId = await approvedAuthorizationId(1000);
  const first = await operate(authorizationId, 'captures', 600);
  assert.equal(first.body.status, 'captured');
  assert.match(String(first.body.captureId), /^capture_/);
  const over = await operate(authorizationId, 'captures', 401);
  assert.deepEqual([over.body.status, over.body.declineCode], ['declined', 'amount_exceeds_authorization']);
  assert.equal((await operate(authorizationId, 'captures', 400)).body.status, 'captured');
  assert.equal(
    (await operate(authorizationId, 'captures', 1)).body.declineCode,
    'amount_exceeds_authorization',
  );
});

test('an authorization that was not approved cannot be captured or voided', async () => {
  const declined = await authorizeCard(simulator.url, '4000000000000002');
  const authorizationId = String(declined.body.authorizationId);
  assert.equal(
    (await operate(authorizationId, 'captures', 1)).body.declineCode,
    'authorization_not_approved',
  );
  assert.equal((await operate(authorizationId, 'voids')).body.declineCode, 'authorization_not_approved');
});

test('refunds take at most what was captured minus what was refunded', async () => {
  const authorizationId = await approvedAuthorizationId(1000);
  assert.equal((await operate(authorizationId, 'refunds', 1)).body.declineCode, 'amount_exceeds_captured');
  await operate(authorizationId, 'captures', 800);
  const first = await operate(authorizationId, 'refunds', 500);
  assert.equal(first.body.status, 'refunded');
  assert.match(String(first.body.refundId), /^refund_/);
  const over = await operate(authorizationId, 'refunds', 301);
  assert.deepEqual([over.body.status, over.body.declineCode], ['declined', 'amount_exceeds_captured']);
  assert.equal((await operate(authorizationId, 'refunds', 300)).body.status, 'refunded');
  assert.equal((await operate(authorizationId, 'refunds', 1)).body.status, 'declined');
});

test('a void releases an uncaptured authorization once; afterwards nothing can be captured', async () => {
  const authorizationId = await approvedAuthorizationId(1000);
  const voided = await operate(authorizationId, 'voids');
  assert.equal(voided.body.status, 'voided');
  assert.match(String(voided.body.voidId), /^void_/);
  assert.equal((await operate(authorizationId, 'voids')).body.declineCode, 'authorization_voided');
  assert.equal((await operate(authorizationId, 'captures', 1)).body.declineCode, 'authorization_voided');

  const capturedId = await approvedAuthorizationId(1000);
  await operate(capturedId, 'captures', 10);
  assert.equal((await operate(capturedId, 'voids')).body.declineCode, 'already_captured');
});

test('the authorizations list shows what the acquirer holds: approved, captured, refunded, voided', async () => {
  const capturedId = await approvedAuthorizationId(1000);
  await operate(capturedId, 'captures', 700);
  await operate(capturedId, 'refunds', 200);
  const voidedId = await approvedAuthorizationId(500);
  await operate(voidedId, 'voids');
  const declined = await authorizeCard(simulator.url, '4000000000000002', 300);
  const listed = await getJson(simulator.url, '/v1/authorizations');
  assert.equal(listed.statusCode, 200);
  const byId = new Map(
    (listed.body.data as Record<string, unknown>[]).map((entry) => [entry.authorizationId, entry]),
  );
  assert.deepEqual(
    [byId.get(capturedId)].map((a) => [a?.approvedAmount, a?.capturedAmount, a?.refundedAmount, a?.voided]),
    [['1000', '700', '200', false]],
  );
  assert.deepEqual(
    [byId.get(voidedId)].map((a) => [a?.approvedAmount, a?.capturedAmount, a?.voided]),
    [['500', '0', true]],
  );
  const declinedEntry = byId.get(String(declined.body.authorizationId));
  assert.equal(declinedEntry?.status, 'declined');
  assert.equal(declinedEntry?.approvedAmount, '0');
});

test('an operation on an unknown authorization is 404 and records nothing', async () => {
  const reference = newReference('unknown');
  const response = await postJson(simulator.url, '/v1/authorizations/authorization_missing/captures', {
    reference,
    amount: 5,
  });
  assert.equal(response.statusCode, 404);
  assert.equal(response.body.error, 'unknown_authorization');
  assert.equal((await inquire(simulator.url, reference)).statusCode, 404);
});

test('an inquiry finds each stored operation by reference, and 404 for a reference never received', async () => {
  const missing = await inquire(simulator.url, newReference('never-sent'));
  assert.equal(missing.statusCode, 404);
  assert.deepEqual(missing.body, { error: 'unknown_reference' });

  const authorization = await authorizeCard(simulator.url, '4242424242424242', 900);
  const authorizationId = String(authorization.body.authorizationId);
  const capture = await operate(authorizationId, 'captures', 900);
  const found = await inquire(simulator.url, String(capture.body.reference));
  assert.equal(found.statusCode, 200);
  assert.deepEqual(found.body, { kind: 'capture', ...capture.body });
  const foundAuthorization = await inquire(simulator.url, String(authorization.body.reference));
  assert.deepEqual(foundAuthorization.body, { kind: 'authorization', ...authorization.body });
});

test('a reference of 255 characters, with characters a URL must encode, is replayed and found', async () => {
  const reference = `${newReference('long')}/?#%&`.padEnd(255, 'r');
  const first = await postJson(
    simulator.url,
    '/v1/authorizations',
    cardAuthorization(reference, '4242424242424242'),
  );
  assert.equal(first.statusCode, 200);
  const found = await inquire(simulator.url, reference);
  assert.equal(found.statusCode, 200);
  assert.equal(found.body.authorizationId, first.body.authorizationId);
  const tooLong = await postJson(
    simulator.url,
    '/v1/authorizations',
    cardAuthorization(`${reference}r`, '4242424242424242'),
  );
  assert.equal(tooLong.statusCode, 400);
});

test('an outage answers 503 acquirer_unavailable and records nothing', async () => {
  const outage = await startTestSimulator({ failureRate: 1 });
  try {
    const request = cardAuthorization(newReference('outage'), '4242424242424242');
    const refused = await postJson(outage.url, '/v1/authorizations', request);
    assert.equal(refused.statusCode, 503);
    assert.deepEqual(refused.body, { error: 'acquirer_unavailable' });
    assert.equal((await inquire(outage.url, request.reference)).statusCode, 503);
    assert.equal((await getJson(outage.url, '/healthz')).statusCode, 200);

    outage.configureFaults({ failureRate: 0 });
    assert.equal((await inquire(outage.url, request.reference)).statusCode, 404);
    // The reference is still free: the retry is a first attempt, not a replay of the 503.
    const retried = await postJson(outage.url, '/v1/authorizations', request);
    assert.equal(retried.statusCode, 200);
    assert.equal(retried.body.status, 'approved');
  } finally {
    await outage.close();
  }
});

const invalidAuthorizations: ReadonlyArray<readonly [string, unknown]> = [
  [
    'no reference',
    {
      amount: 100,
      currency: 'EUR',
      method: 'card',
      card: { number: '4242424242424242', expMonth: 1, expYear: 2030 },
    },
  ],
  ['amount as a string', { ...cardAuthorization('x', '4242424242424242'), amount: '100' }],
  ['amount zero', { ...cardAuthorization('x', '4242424242424242'), amount: 0 }],
  ['amount over nine digits', { ...cardAuthorization('x', '4242424242424242'), amount: 1_000_000_000 }],
  ['fractional amount', { ...cardAuthorization('x', '4242424242424242'), amount: 10.5 }],
  ['lowercase currency', { ...cardAuthorization('x', '4242424242424242'), currency: 'eur' }],
  ['unknown method', { ...cardAuthorization('x', '4242424242424242'), method: 'cash' }],
  [
    'card without number',
    { ...cardAuthorization('x', '4242424242424242'), card: { expMonth: 1, expYear: 2030 } },
  ],
  [
    'month 13',
    {
      ...cardAuthorization('x', '4242424242424242'),
      card: { number: '4242424242424242', expMonth: 13, expYear: 2030 },
    },
  ],
  ['unknown property', { ...cardAuthorization('x', '4242424242424242'), status: 'approved' }],
  ['method card without card', { reference: 'x', amount: 100, currency: 'EUR', method: 'card' }],
  ['method wallet with a card', { ...cardAuthorization('x', '4242424242424242'), method: 'wallet' }],
  [
    'returnUrl not http',
    {
      reference: 'x',
      amount: 100,
      currency: 'EUR',
      method: 'bank_redirect',
      returnUrl: 'javascript:alert(1)',
    },
  ],
  ['not JSON', '{"reference": "x", "card": {"number": "4242424242424242"'],
  ['an array', []],
];

test('invalid bodies are refused with 400 invalid_request and nothing is recorded', async () => {
  for (const [name, body] of invalidAuthorizations) {
    const response = await postJson(simulator.url, '/v1/authorizations', body);
    assert.equal(response.statusCode, 400, name);
    assert.equal(response.body.error, 'invalid_request', name);
    assert.equal(typeof response.body.detail, 'string', name);
    assert.doesNotMatch(String(response.body.detail), /4242424242424242/, name);
  }
  assert.equal((await inquire(simulator.url, 'x')).statusCode, 404);

  const authorizationId = await approvedAuthorizationId(100);
  for (const [operation, body] of [
    ['captures', { reference: 'y' }],
    ['refunds', { reference: 'y', amount: -1 }],
    ['voids', {}],
  ] as const) {
    const response = await postJson(
      simulator.url,
      `/v1/authorizations/${authorizationId}/${operation}`,
      body,
    );
    assert.equal(response.statusCode, 400, operation);
    assert.equal(response.body.error, 'invalid_request', operation);
  }
  assert.equal((await inquire(simulator.url, 'y')).statusCode, 404);
});

test('health check and unknown routes', async () => {
  assert.equal((await getJson(simulator.url, '/healthz')).statusCode, 200);
  const unknown = await getJson(simulator.url, '/v2/anything');
  assert.equal(unknown.statusCode, 404);
  assert.equal(unknown.body.error, 'not_found');
});
