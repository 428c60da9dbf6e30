// The client SDK (sdk/) against a real PayFlow: token, money as bigint, one Idempotency-Key reused on
// retries, typed problem errors, cursor pagination, and the shared webhook verifier.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  PayFlowClient,
  PayFlowError,
  signWebhook,
  verifyWebhook,
  generateWebhookSecret,
} from '../sdk/src/index.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { createMerchantCredentials } from './support/identity.ts';
import { eventually } from './support/eventually.ts';
import { createClientWith } from '../src/modules/identity/index.ts';
import { systemClock } from '../src/platform/clock.ts';

let server: TestServer;
let client: PayFlowClient;

before(async () => {
  server = await startTestServer();
  const merchant = await createMerchantCredentials(server.database.sql);
  client = new PayFlowClient({
    baseUrl: server.baseUrl,
    clientId: merchant.clientId,
    clientSecret: merchant.clientSecret,
  });
});
after(async () => {
  await server.close();
});

const card = {
  number: '4242424242424242',
  expMonth: 12,
  expYear: new Date().getUTCFullYear() + 3,
  cvc: '123',
};

test('authorize, capture and a partial refund with bigint money; over-refund is a typed error', async () => {
  const { token } = await client.tokenizeCard(card);
  const payment = await client.authorize({
    amount: 1500n,
    currency: 'USD',
    paymentMethod: { type: 'card', token },
  });
  assert.equal(typeof payment.amount, 'bigint');
  assert.equal(payment.amount, 1500n);
  const captured = await client.capture(payment.paymentId);
  assert.equal(captured.status, 'CAPTURED');
  const refund = await client.refund(payment.paymentId, { amount: 500n });
  assert.equal(refund.refundedAmount, 500n);
  await assert.rejects(client.refund(payment.paymentId, { amount: 5000n }), (error: unknown) => {
    assert.ok(error instanceof PayFlowError);
    assert.equal(typeof error.code, 'string');
    assert.ok(error.status === 409 || error.status === 422, `status ${error.status}`);
    return true;
  });
});

test('a retried call reuses its Idempotency-Key: a network error after the server answered makes one payment', async () => {
  const keys: string[] = [];
  let failOnce = true;
  const merchant = await createMerchantCredentials(server.database.sql);
  const flaky = new PayFlowClient({
    baseUrl: server.baseUrl,
    clientId: merchant.clientId,
    clientSecret: merchant.clientSecret,
    backoffMs: 10,
    fetch: async (input, init) => {
      const headers = new Headers(init?.headers);
      const key = headers.get('idempotency-key');
      if (key !== null) keys.push(key);
      const response = await fetch(input, init);
      if (key !== null && String(input).endsWith('/payments/authorize') && failOnce) {
        failOnce = false;
        throw new TypeError('fetch failed (connection reset after the server answered)');
      }
      return response;
    },
  });
  const { token } = await flaky.tokenizeCard(card);
  keys.length = 0;
  const payment = await flaky.authorize({
    amount: 700n,
    currency: 'USD',
    paymentMethod: { type: 'card', token },
  });
  assert.equal(keys.length, 2);
  assert.equal(keys[0], keys[1]);
  const payments = [];
  for await (const listed of flaky.listPayments()) payments.push(listed);
  assert.equal(payments.length, 1);
  assert.equal(payments[0]?.paymentId, payment.paymentId);
});

test('listPayments follows the cursor across pages', async () => {
  const { token } = await client.tokenizeCard(card);
  for (let i = 0; i < 3; i++)
    await client.authorize({
      amount: 100n + BigInt(i),
      currency: 'USD',
      paymentMethod: { type: 'card', token },
    });
  const ids = new Set<string>();
  for await (const payment of client.listPayments({ limit: 1 })) ids.add(payment.paymentId);
  assert.ok(ids.size >= 4, `saw ${ids.size}`);
});

test('the webhook verifier is the one PayFlow signs with', () => {
  const secret = generateWebhookSecret();
  const body = '{"type":"payment.captured.v1"}';
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = signWebhook({ id: 'msg_1', timestamp, body, secrets: [secret] });
  const headers = {
    'webhook-id': 'msg_1',
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signature,
  };
  assert.doesNotThrow(() => verifyWebhook({ headers, rawBody: body, secret }));
  assert.throws(() => verifyWebhook({ headers, rawBody: body + ' ', secret }));
});

const shown = (value: unknown) =>
  JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? `${item}n` : item));

test('settlement, payouts, volume and reconciliation through typed methods, money as bigint', async () => {
  const { token } = await client.tokenizeCard(card);
  const payment = await client.authorize({
    amount: 2500n,
    currency: 'USD',
    paymentMethod: { type: 'card', token },
    capture: true,
  });
  assert.equal(payment.status, 'CAPTURED');
  const volume = await client.getVolume(2);
  const usd = volume.currencies.find((entry) => entry.currency === 'USD');
  assert.ok(usd, 'USD volume');
  const today = new Date().toISOString().slice(0, 10);
  const day = usd.days.find((entry) => entry.date === today);
  assert.equal(typeof day?.capturedAmount, 'bigint');
  assert.ok(day!.capturedAmount >= 2500n);

  const operatorClient = await createClientWith(
    { sql: server.database.sql, clock: systemClock },
    { role: 'admin' },
  );
  const operator = new PayFlowClient({
    baseUrl: server.baseUrl,
    clientId: operatorClient.clientId,
    clientSecret: operatorClient.clientSecret,
  });
  // Settlement reads the capture from the event bus: settle once its consumer has caught up.
  await eventually('the settlement consumer caught up', async () => {
    const metrics = await fetch(`${server.baseUrl}/metrics`, {
      headers: { authorization: `Bearer ${await operator.accessToken()}` },
    });
    const text = await metrics.text();
    const unpublished = /^payflow_events_outbox_unpublished (\d+)/m.exec(text)?.[1];
    const lag = /^payflow_events_consumer_lag\{group="settlement"\} (\d+)/m.exec(text)?.[1];
    return unpublished === '0' && lag === '0' ? true : undefined;
  });
  const run = await operator.runSettlement(today);
  assert.equal(run.outcome, 'completed', shown(run));
  const [batch] = await client.listSettlements({ limit: 1 });
  assert.ok(batch, 'a settlement batch');
  assert.equal(typeof batch.net, 'bigint');
  assert.ok(batch.gross >= 2500n, `gross ${batch.gross}`);
  assert.equal((await client.getSettlement(batch.id)).id, batch.id);
  const payouts = await eventually('a payout', async () => {
    const listed = await client.listPayouts({ limit: 5 });
    return listed.length > 0 ? listed : undefined;
  });
  assert.equal(typeof payouts[0]!.amount, 'bigint');
  assert.equal((await client.getPayout(payouts[0]!.id)).id, payouts[0]!.id);

  const reconciled = await operator.fetchReconciliationReport(today, {
    simulatorFaults: `amount=${payment.paymentId}.capture`,
  });
  assert.equal(reconciled.counts['amount_mismatch'], 1, shown(reconciled));
  assert.ok(
    (await operator.listReconciliationRuns({ limit: 5 })).some((item) => item.id === reconciled.runId),
  );
  const open = await operator.listReconciliationExceptions({ status: 'open', limit: 500 });
  const exception = open.find((item) => item.reference === `${payment.paymentId}.capture`);
  assert.ok(exception, 'the mismatch is an open exception');
  assert.equal(typeof exception.reportedAmount, 'bigint');
  const resolved = await operator.resolveReconciliationException(exception.id, {
    reason: 'acquirer confirmed',
    adjustment: 'acquirer_difference',
  });
  assert.equal(resolved.status, 'resolved');
  // An operator-only call with the merchant's client is a typed 403.
  await assert.rejects(client.runSettlement(today), (error: unknown) => {
    assert.ok(error instanceof PayFlowError);
    assert.equal(error.status, 403);
    return true;
  });
});
