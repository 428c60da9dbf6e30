// Asynchronous outcomes: the bank redirect page (approve and decline, as a browser would post the
// forms), the notification POSTed to the merchant with retries, and refunds that fail later.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningSimulator } from './index.ts';
import {
  authorizeCard,
  inquire,
  inquireUntil,
  newReference,
  postJson,
  startNotificationReceiver,
  startTestSimulator,
  type NotificationReceiver,
} from './test-support.ts';

let receiver: NotificationReceiver;
let simulator: RunningSimulator;

before(async () => {
  // The first delivery is refused so that every test also sees a retry.
  receiver = await startNotificationReceiver([500]);
  simulator = await startTestSimulator({ notifyUrl: receiver.url, refundFailureDelayMs: 50 });
});

after(async () => {
  await simulator.close();
  await receiver.close();
});

function bankRedirectRequest(reference: string, returnUrl?: string) {
  return {
    reference,
    amount: 4200,
    currency: 'EUR',
    method: 'bank_redirect',
    ...(returnUrl !== undefined && { returnUrl }),
  };
}

/** Does what a browser does with the page: find the button's form and post it. */
async function clickButton(pageUrl: string, choice: 'approve' | 'decline'): Promise<Response> {
  const html = await (await fetch(pageUrl)).text();
  const action = new RegExp(`<form method="post" action="([^"]+/${choice})">`).exec(html)?.[1];
  assert.ok(action, `the page has a ${choice} form`);
  return fetch(new URL(action, pageUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: '',
    redirect: 'manual',
  });
}

test('bank redirect: approve on the bank page notifies the merchant and returns the browser', async () => {
  const returnUrl = 'http://merchant.example/checkout/return?order=17';
  const reference = newReference('bank-approve');
  const authorization = await postJson(
    simulator.url,
    '/v1/authorizations',
    bankRedirectRequest(reference, returnUrl),
  );
  assert.equal(authorization.body.status, 'requires_action');
  const authorizationId = String(authorization.body.authorizationId);
  assert.equal(authorization.body.redirectUrl, `${simulator.url}/bank/${authorizationId}`);

  const page = await fetch(String(authorization.body.redirectUrl));
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  assert.equal((await inquire(simulator.url, reference)).body.status, 'requires_action');

  const browser = await clickButton(String(authorization.body.redirectUrl), 'approve');
  assert.equal(browser.status, 303);
  assert.equal(browser.headers.get('location'), returnUrl);

  const [refused, delivered] = await receiver.waitFor(2);
  assert.deepEqual(delivered?.body, {
    kind: 'authorization',
    reference,
    authorizationId,
    status: 'approved',
  });
  assert.equal(
    refused?.headers['webhook-id'],
    delivered?.headers['webhook-id'],
    'a retry keeps its webhook-id',
  );

  const inquiry = await inquire(simulator.url, reference);
  assert.equal(inquiry.body.status, 'approved');
  assert.equal(inquiry.body.approvedAmount, 4200);
  assert.equal(inquiry.body.redirectUrl, undefined);
  const replay = await postJson(
    simulator.url,
    '/v1/authorizations',
    bankRedirectRequest(reference, returnUrl),
  );
  assert.equal(replay.body.status, 'approved');
  const capture = await postJson(simulator.url, `/v1/authorizations/${authorizationId}/captures`, {
    reference: newReference('capture'),
    amount: 4200,
  });
  assert.equal(capture.body.status, 'captured');

  // A late click on the other button changes nothing.
  const lateClick = await fetch(`${simulator.url}/bank/${authorizationId}/decline`, {
    method: 'POST',
    redirect: 'manual',
  });
  assert.equal(lateClick.status, 303);
  assert.equal((await inquire(simulator.url, reference)).body.status, 'approved');
});

test('bank redirect: decline without a returnUrl shows a result page and notifies a decline', async () => {
  const reference = newReference('bank-decline');
  const authorization = await postJson(simulator.url, '/v1/authorizations', bankRedirectRequest(reference));
  const already = receiver.received.length;
  const browser = await clickButton(String(authorization.body.redirectUrl), 'decline');
  assert.equal(browser.status, 200);
  assert.match(await browser.text(), /declined/);

  const notifications = await receiver.waitFor(already + 1);
  assert.deepEqual(notifications.at(-1)?.body, {
    kind: 'authorization',
    reference,
    authorizationId: authorization.body.authorizationId,
    status: 'declined',
    declineCode: 'customer_declined',
  });
  const inquiry = await inquire(simulator.url, reference);
  assert.deepEqual([inquiry.body.status, inquiry.body.declineCode], ['declined', 'customer_declined']);
});

test('bank redirect: a void cancels it while the payer has not decided; the payer can no longer approve', async () => {
  const returnUrl = 'http://merchant.example/checkout/return?order=18';
  const reference = newReference('bank-cancel');
  const authorization = await postJson(
    simulator.url,
    '/v1/authorizations',
    bankRedirectRequest(reference, returnUrl),
  );
  const authorizationId = String(authorization.body.authorizationId);
  const voidReference = newReference('void');
  const cancel = await postJson(simulator.url, `/v1/authorizations/${authorizationId}/voids`, {
    reference: voidReference,
  });
  assert.equal(cancel.body.status, 'voided');
  assert.match(String(cancel.body.voidId), /^void_/);
  const replay = await postJson(simulator.url, `/v1/authorizations/${authorizationId}/voids`, {
    reference: voidReference,
  });
  assert.equal(replay.body.voidId, cancel.body.voidId, 'the same reference replays the same void');
  const inquiry = await inquire(simulator.url, reference);
  assert.deepEqual([inquiry.body.status, inquiry.body.declineCode], ['declined', 'authorization_voided']);
  assert.equal(inquiry.body.redirectUrl, undefined);

  const page = await (await fetch(String(authorization.body.redirectUrl))).text();
  assert.doesNotMatch(page, /approve/, 'the bank page offers no Approve button any more');
  const notifiedBefore = receiver.received.length;
  // The payer approves anyway (an old tab): the bank refuses, nothing is approved, nobody is notified.
  const lateApproval = await fetch(`${simulator.url}/bank/${authorizationId}/approve`, {
    method: 'POST',
    redirect: 'manual',
  });
  assert.equal(lateApproval.status, 303);
  assert.equal(receiver.received.length, notifiedBefore, 'a refused approval is not notified');
  assert.equal((await inquire(simulator.url, reference)).body.status, 'declined');
  const secondVoid = await postJson(simulator.url, `/v1/authorizations/${authorizationId}/voids`, {
    reference: newReference('void'),
  });
  assert.deepEqual(
    [secondVoid.body.status, secondVoid.body.declineCode],
    ['declined', 'authorization_voided'],
  );
  const capture = await postJson(simulator.url, `/v1/authorizations/${authorizationId}/captures`, {
    reference: newReference('capture'),
    amount: 4200,
  });
  assert.equal(capture.body.declineCode, 'authorization_voided');
});

test('bank redirect: a void after the payer approved voids the approved authorization', async () => {
  const reference = newReference('bank-approve-void');
  const authorization = await postJson(simulator.url, '/v1/authorizations', bankRedirectRequest(reference));
  const authorizationId = String(authorization.body.authorizationId);
  const already = receiver.received.length;
  await clickButton(String(authorization.body.redirectUrl), 'approve');
  await receiver.waitFor(already + 1);
  const voided = await postJson(simulator.url, `/v1/authorizations/${authorizationId}/voids`, {
    reference: newReference('void'),
  });
  assert.equal(voided.body.status, 'voided');
  assert.equal((await inquire(simulator.url, reference)).body.status, 'approved', 'approved, then voided');
  const capture = await postJson(simulator.url, `/v1/authorizations/${authorizationId}/captures`, {
    reference: newReference('capture'),
    amount: 4200,
  });
  assert.equal(capture.body.declineCode, 'authorization_voided');
});

test('bank pages of unknown authorizations are 404', async () => {
  assert.equal((await fetch(`${simulator.url}/bank/authorization_missing`)).status, 404);
  const card = await authorizeCard(simulator.url, '4242424242424242');
  const notBankRedirect = await fetch(`${simulator.url}/bank/${String(card.body.authorizationId)}/approve`, {
    method: 'POST',
  });
  assert.equal(notBankRedirect.status, 404);
});

test('4000000000005126: a refund is accepted as pending, then fails and its amount can be refunded again', async () => {
  const authorization = await authorizeCard(simulator.url, '4000000000005126', 3000);
  const authorizationId = String(authorization.body.authorizationId);
  const path = `/v1/authorizations/${authorizationId}`;
  await postJson(simulator.url, `${path}/captures`, { reference: newReference('capture'), amount: 3000 });
  const already = receiver.received.length;

  const refund = await postJson(simulator.url, `${path}/refunds`, {
    reference: newReference('refund'),
    amount: 3000,
  });
  assert.equal(refund.body.status, 'pending');
  const reference = String(refund.body.reference);
  const failed = await inquireUntil(
    simulator.url,
    reference,
    (response) => response.body.status !== 'pending',
  );
  assert.deepEqual([failed.body.status, failed.body.declineCode], ['failed', 'refund_failed']);

  const notifications = await receiver.waitFor(already + 1);
  assert.deepEqual(notifications.at(-1)?.body, {
    kind: 'refund',
    reference,
    authorizationId,
    status: 'failed',
    declineCode: 'refund_failed',
  });
  const again = await postJson(simulator.url, `${path}/refunds`, {
    reference: newReference('refund'),
    amount: 3000,
  });
  assert.equal(again.body.status, 'pending');
});
