// Chargebacks as a fraud signal (issue 13, ADR 21): a chargeback in the acquirer's settlement report,
// resolved as one the merchant bears, reaches the fraud consumer as `settlement.adjusted.v1`; the
// card goes on the merchant's @chargebacked_cards list, and the next authorization with that card
// goes to review (`builtin_chargebacked_card`) while other cards and other merchants are unaffected.
// Real PostgreSQL, the postgres bus, the simulated acquirer's report.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningSimulator } from '../src/simulator/index.ts';
import { adminToken, merchantSession, type MerchantSession, bearerCall } from './support/identity.ts';
import { authorizeBody, call, paymentsEnv, startTestAcquirer, tokenize } from './support/payments.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { eventually } from './support/eventually.ts';

const disputedCard = '5555555555554444';
const today = new Date().toISOString().slice(0, 10);
let server: TestServer;
let acquirer: RunningSimulator;
let admin: string;
let merchant: MerchantSession;
let otherMerchant: MerchantSession;

const adminCall = (method: 'GET' | 'POST', path: string, body?: unknown) =>
  bearerCall(server.baseUrl, admin, method, path, body);

async function sale(session: MerchantSession, card: string, amount: number) {
  const token = await tokenize(server.baseUrl, session, card);
  const answer = await call(
    server.baseUrl,
    session,
    'POST',
    '/payments/authorize',
    authorizeBody(token, amount, { capture: true }),
  );
  assert.equal(answer.status, 201, answer.text);
  return answer;
}

async function riskOf(session: MerchantSession, paymentId: string) {
  return (await call(server.baseUrl, session, 'GET', `/payments/${paymentId}`)).body['risk'] as {
    decision: string;
    reasons: { rule: string }[];
  };
}

before(async () => {
  acquirer = await startTestAcquirer();
  server = await startTestServer({ env: paymentsEnv(acquirer.url, { EVENTS_POLL_INTERVAL_MS: '50' }) });
  admin = await adminToken(server);
  merchant = await merchantSession(server, 'Disputed shop');
  otherMerchant = await merchantSession(server, 'Other shop');
});

after(async () => {
  await server.close();
  await acquirer.close();
});

test('a chargeback the merchant bears puts the card on @chargebacked_cards; its next authorization goes to review', async () => {
  const disputed = await sale(merchant, disputedCard, 3_000);
  const disputedId = disputed.body['paymentId'] as string;
  assert.equal((await riskOf(merchant, disputedId)).decision, 'allow', 'before the chargeback');
  await eventually('the capture to reach settlement', async () => {
    const [row] = await server.database.sql<{ n: number }[]>`
      select count(*)::int as n from settlement.items where payment_id = ${disputedId}`;
    return row!.n === 1 ? true : undefined;
  });

  const run = await adminCall('POST', '/v1/admin/reconciliation/fetch', {
    date: today,
    simulatorFaults: `chargeback=${disputedId}.capture`,
  });
  assert.equal(run.status, 201, JSON.stringify(run.body));
  const open = (await adminCall('GET', '/v1/admin/reconciliation/exceptions?status=open')).body[
    'data'
  ] as Record<string, unknown>[];
  const chargeback = open.find((item) => item['outcome'] === 'chargeback');
  assert.ok(chargeback, JSON.stringify(open));

  // Until the merchant bears it, nothing is learnt about the card.
  assert.deepEqual((await call(server.baseUrl, merchant, 'GET', '/fraud/lists')).body['data'], []);
  const resolved = await adminCall(
    'POST',
    `/v1/admin/reconciliation/exceptions/${chargeback['id'] as string}/resolve`,
    { reason: 'cardholder dispute lost', adjustment: 'merchant_chargeback' },
  );
  assert.equal(resolved.status, 200, JSON.stringify(resolved.body));

  const lists = await eventually('the card on @chargebacked_cards', async () => {
    const data = (await call(server.baseUrl, merchant, 'GET', '/fraud/lists')).body['data'] as {
      name: string;
      values: string[];
    }[];
    return data.length > 0 ? data : undefined;
  });
  assert.deepEqual(
    lists.map((list) => [list.name, list.values.length]),
    [['chargebacked_cards', 1]],
  );
  const [assessment] = await server.database.sql<{ fingerprint: string }[]>`
    select signals->>'card_fingerprint' as fingerprint from fraud.assessments where payment_id = ${disputedId}`;
  assert.deepEqual(lists[0]!.values, [assessment!.fingerprint.toLowerCase()]);

  // The same card again (a new token): review, and its capture waits for the decision.
  const again = await call(
    server.baseUrl,
    merchant,
    'POST',
    '/payments/authorize',
    authorizeBody(await tokenize(server.baseUrl, merchant, disputedCard), 1_200),
  );
  assert.equal(again.status, 201, again.text);
  assert.equal(again.body['review'], 'pending');
  const againRisk = await riskOf(merchant, again.body['paymentId'] as string);
  assert.equal(againRisk.decision, 'review');
  assert.ok(againRisk.reasons.some((reason) => reason.rule === 'builtin_chargebacked_card'));
  const capture = await call(
    server.baseUrl,
    merchant,
    'POST',
    `/payments/${again.body['paymentId'] as string}/capture`,
    {},
  );
  assert.equal(capture.status, 409, capture.text);
  assert.equal(capture.body['code'], 'payment_in_review');

  // Another card of the merchant, and the same card at another merchant: unaffected.
  const clean = await sale(merchant, '4242424242424242', 1_000);
  assert.equal((await riskOf(merchant, clean.body['paymentId'] as string)).decision, 'allow');
  const elsewhere = await sale(otherMerchant, disputedCard, 1_000);
  assert.equal((await riskOf(otherMerchant, elsewhere.body['paymentId'] as string)).decision, 'allow');

  // The merchant can take the card off the list (a dispute it won later): allowed again.
  const removed = await fetch(
    `${server.baseUrl}/fraud/lists/chargebacked_cards/${encodeURIComponent(lists[0]!.values[0]!)}`,
    { method: 'DELETE', headers: { authorization: `Bearer ${merchant.token}` } },
  );
  assert.equal(removed.status, 204, await removed.text());
  const forgiven = await sale(merchant, disputedCard, 800);
  assert.equal((await riskOf(merchant, forgiven.body['paymentId'] as string)).decision, 'allow');
});
