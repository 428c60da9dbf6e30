// Asynchronous outcomes: bank redirects decided by the payer and notified by the acquirer (signed
// with a shared secret), authorization expiry, a capture that first resolves an unknown
// authorization, and the reaper of idempotency keys.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import type { TestServer } from './support/server.ts';
import type { MerchantSession } from './support/identity.ts';
import { authorizeBody, call, tokenize, waitForPayment } from './support/payments.ts';
import {
  bankRedirect as createBankRedirect,
  deliverNotification,
  payerApproves,
  payerApprovesNotificationHeld,
  startBankRedirectStack,
  type BankRedirectStack,
} from './support/acquirer.ts';
import { notificationSignatureValid } from '../src/modules/payments/index.ts';
import { eventually } from './support/eventually.ts';

const notifySecret = 'test-notify-secret-0123456789abcdef';
let stack: BankRedirectStack;
let server: TestServer;
let merchant: MerchantSession;

before(async () => {
  stack = await startBankRedirectStack({
    notifySecret,
    // The default validity (7 days): the expiry test moves its own payment's expires_at instead,
    // so no other test here races the expiry job.
    env: { PAYMENT_INQUIRY_SCHEDULE: '1h' },
  });
  ({ server, merchant } = stack);
});
after(async () => {
  await stack.close();
});

function bankRedirect() {
  return createBankRedirect(server.baseUrl, merchant, stack.acquirer.url);
}

test('bank_redirect: 202 REQUIRES_ACTION, the payer approves, the signed notification makes it AUTHORIZED', async () => {
  const { paymentId, redirectUrl } = await bankRedirect();
  const page = await payerApproves({ redirectUrl });
  assert.equal(page.headers.get('location'), 'https://shop.example/done', 'back to the shop');
  const payment = await waitForPayment(
    server.baseUrl,
    merchant,
    paymentId,
    (item) => item.status !== 'REQUIRES_ACTION',
  );
  assert.equal(payment.status, 'AUTHORIZED');
  assert.equal(payment.ledgerHold, 4500);
  assert.deepEqual(payment.metadata, {}, 'the return URL is not merchant metadata');
});

test('bank_redirect declined by the payer becomes FAILED with customer_declined', async () => {
  const { paymentId, redirectUrl } = await bankRedirect();
  await fetch(`${redirectUrl}/decline`, { method: 'POST', redirect: 'manual' });
  const payment = await waitForPayment(
    server.baseUrl,
    merchant,
    paymentId,
    (item) => item.status !== 'REQUIRES_ACTION',
  );
  assert.equal(payment.status, 'FAILED');
  assert.equal(payment.declineCode, 'customer_declined');
});

test('a notification without a valid signature is refused with 401 and changes nothing; the signed one applies', async () => {
  const { paymentId, redirectUrl } = await bankRedirect();
  // The payer approves, but the acquirer's (signed) notification is held back, not delivered.
  const genuine = await payerApprovesNotificationHeld(stack.forwarder, { redirectUrl });
  const notification = JSON.parse(genuine.body.toString('utf8')) as { reference: string; status: string };
  assert.equal(notification.status, 'approved');
  const [row] = await server.database.sql<{ processor_reference: string }[]>`
    select processor_reference from payments.payments where id = ${paymentId}`;
  assert.equal(notification.reference, row!.processor_reference);
  const body = JSON.stringify({
    kind: 'authorization',
    reference: notification.reference,
    status: 'approved',
  });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const headers = {
    'content-type': 'application/json',
    'webhook-id': 'evt_forged',
    'webhook-timestamp': timestamp,
  };
  const forged = await fetch(`${server.baseUrl}/internal/acquirer/notifications`, {
    method: 'POST',
    headers: { ...headers, 'webhook-signature': 'v1,Zm9yZ2Vk' },
    body,
  });
  assert.equal(forged.status, 401);
  const wrongSecret = createHmac('sha256', 'not-the-secret')
    .update(`evt_forged.${timestamp}.${body}`)
    .digest('base64');
  const otherSecret = await fetch(`${server.baseUrl}/internal/acquirer/notifications`, {
    method: 'POST',
    headers: { ...headers, 'webhook-signature': `v1,${wrongSecret}` },
    body,
  });
  assert.equal(otherSecret.status, 401);
  const unsigned = await fetch(`${server.baseUrl}/internal/acquirer/notifications`, {
    method: 'POST',
    headers,
    body,
  });
  assert.equal(unsigned.status, 401);
  const unchanged = await call(server.baseUrl, merchant, 'GET', `/payments/${paymentId}`);
  assert.equal(unchanged.body.status, 'REQUIRES_ACTION', 'the payer approved, but nothing trusted said so');
  // The acquirer's own, correctly signed notification is what authorizes the payment.
  const signed = await deliverNotification(server.baseUrl, genuine);
  assert.ok(signed >= 200 && signed < 300, `signed notification: ${signed}`);
  const payment = await call(server.baseUrl, merchant, 'GET', `/payments/${paymentId}`);
  assert.equal(payment.body.status, 'AUTHORIZED');
  assert.equal(payment.body.ledgerHold, 4500);
});

test('notification signatures follow Standard Webhooks: v1, base64 HMAC-SHA256 of id.timestamp.body', () => {
  const headers = { id: 'evt_1', timestamp: '1700000000' };
  const digest = createHmac('sha256', 'secret').update('evt_1.1700000000.{}').digest('base64');
  assert.equal(notificationSignatureValid('secret', { ...headers, signature: `v1,${digest}` }, '{}'), true);
  assert.equal(
    notificationSignatureValid('secret', { ...headers, signature: `v1,AAAA v1,${digest}` }, '{}'),
    true,
  );
  assert.equal(notificationSignatureValid('other', { ...headers, signature: `v1,${digest}` }, '{}'), false);
  assert.equal(
    notificationSignatureValid('secret', { ...headers, signature: `v1,${digest}` }, '{"a":1}'),
    false,
  );
});

test('an authorization past its validity expires and its hold is released', async () => {
  const token = await tokenize(server.baseUrl, merchant);
  const answer = await call(
    server.baseUrl,
    merchant,
    'POST',
    '/payments/authorize',
    authorizeBody(token, 1200),
  );
  assert.equal(answer.status, 201);
  const paymentId = answer.body.paymentId as string;
  const [fresh] = await server.database.sql<{ valid_for: number }[]>`
    select extract(epoch from expires_at - now())::int as valid_for from payments.payments
    where id = ${paymentId}`;
  assert.ok(fresh!.valid_for > 86_400, 'an authorization is valid for days by default');
  // Its validity ends now (as if seven days had passed); the expiry job takes it from here.
  await server.database.sql`
    update payments.payments set expires_at = now() - interval '1 second' where id = ${paymentId}`;
  const payment = await waitForPayment(
    server.baseUrl,
    merchant,
    paymentId,
    (item) => item.status === 'EXPIRED',
  );
  assert.equal(payment.ledgerHold, 0);
  assert.deepEqual(
    (payment.ledgerEntries as { type: string }[]).map((entry) => entry.type),
    ['AUTH', 'AUTH', 'EXPIRY', 'EXPIRY'],
  );
  const capture = await call(
    server.baseUrl,
    merchant,
    'POST',
    `/payments/${payment.paymentId as string}/capture`,
    {},
  );
  assert.equal(capture.status, 409);
  assert.equal(capture.body.code, 'payment_expired');
});

test('a capture of a payment whose authorization is still unknown resolves it first', async () => {
  const token = await tokenize(server.baseUrl, merchant, '4000000000003220');
  const pending = await call(
    server.baseUrl,
    merchant,
    'POST',
    '/payments/authorize',
    authorizeBody(token, 900),
  );
  assert.equal(pending.status, 202, pending.text);
  assert.equal(pending.body.status, 'PENDING');
  // The schedule is an hour here: only the capture itself can resolve the authorization.
  const capture = await call(
    server.baseUrl,
    merchant,
    'POST',
    `/payments/${pending.body.paymentId as string}/capture`,
    {},
  );
  assert.equal(capture.status, 200, capture.text);
  assert.equal(capture.body.status, 'CAPTURED');
  assert.equal(capture.body.capturedAmount, 900);
});

test('the reaper deletes keys finished longer ago than the retention, keeps late-finished and unfinished ones', async () => {
  const finishedKey = randomUUID();
  const token = await tokenize(server.baseUrl, merchant);
  await call(
    server.baseUrl,
    merchant,
    'POST',
    '/payments/authorize',
    authorizeBody(token, 1300),
    finishedKey,
  );
  // Created long ago but finished just now (an unknown outcome the janitor resolved a day later):
  // a client retry must still be answered from the key, so the reaper keeps it.
  const lateKey = randomUUID();
  const lateToken = await tokenize(server.baseUrl, merchant);
  const late = await call(
    server.baseUrl,
    merchant,
    'POST',
    '/payments/authorize',
    authorizeBody(lateToken, 1350),
    lateKey,
  );
  assert.equal(late.status, 201, late.text);
  const unfinishedKey = randomUUID();
  const slowToken = await tokenize(server.baseUrl, merchant, '4000000000003220');
  const pending = await call(
    server.baseUrl,
    merchant,
    'POST',
    '/payments/authorize',
    authorizeBody(slowToken, 1400),
    unfinishedKey,
  );
  assert.equal(pending.status, 202);
  await server.database.sql`
    update payments.idempotency_keys set created_at = now() - interval '25 hours'
    where idempotency_key in ${server.database.sql([finishedKey, lateKey, unfinishedKey])}`;
  await server.database.sql`
    update payments.idempotency_keys set finished_at = now() - interval '25 hours'
    where idempotency_key = ${finishedKey}`;
  // One reaper statement deletes every eligible key, so once the old one is gone the others were seen.
  assert.equal(await waitForKeyGone(finishedKey), true);
  const [unfinished] = await server.database.sql<{ recovery_point: string }[]>`
    select recovery_point from payments.idempotency_keys where idempotency_key = ${unfinishedKey}`;
  assert.equal(unfinished?.recovery_point, 'phase1_committed', 'an unknown outcome keeps its key');
  const [lateRow] = await server.database.sql<{ recovery_point: string }[]>`
    select recovery_point from payments.idempotency_keys where idempotency_key = ${lateKey}`;
  assert.equal(lateRow?.recovery_point, 'finished', 'a key finished just now is kept for the retention');
  const retry = await call(
    server.baseUrl,
    merchant,
    'POST',
    '/payments/authorize',
    authorizeBody(lateToken, 1350),
    lateKey,
  );
  assert.equal(retry.body.paymentId, late.body.paymentId, 'the retry replays, no second payment');
});

async function waitForKeyGone(key: string): Promise<boolean> {
  return eventually(`idempotency key ${key} to be reaped`, async () => {
    const [row] = await server.database.sql<{ n: number }[]>`
      select count(*)::int as n from payments.idempotency_keys where idempotency_key = ${key}`;
    return row!.n === 0 ? true : undefined;
  });
}
