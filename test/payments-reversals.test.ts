// Voids PayFlow owes the acquirer (ADR 14): a bank redirect voided or expired while its payer had not
// decided is cancelled at the acquirer, so the payer can no longer approve it; an approval the
// acquirer notifies for a payment PayFlow has finished is voided at the acquirer, once, and never
// changes the payment or the ledger. Real PayFlow over HTTP, the real simulator on its own port.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { TestServer } from './support/server.ts';
import type { MerchantSession } from './support/identity.ts';
import { call, waitForPayment } from './support/payments.ts';
import {
  acquirerCaptureDecline as captureDeclineAt,
  acquirerInquiry as inquiryAt,
  bankRedirect as createBankRedirect,
  deliverNotification,
  owedOperationOf,
  payerApproves,
  payerApprovesNotificationHeld as approvesHeldAt,
  startBankRedirectStack,
  waitForReversal as waitForReversalIn,
  type AcquirerNotification,
  type BankRedirect,
  type BankRedirectStack,
  type OwedOperationRow,
} from './support/acquirer.ts';
import { loadConfiguration } from '../src/apps/configuration.ts';
import { createLogger } from '../src/platform/log.ts';
import { systemClock } from '../src/platform/clock.ts';
import { ledgerModule, type LedgerFace } from '../src/modules/ledger/index.ts';

const notifySecret = 'test-notify-secret-reversals-0123456789';
let stack: BankRedirectStack;
let server: TestServer;
let merchant: MerchantSession;
let ledger: LedgerFace;

before(async () => {
  stack = await startBankRedirectStack({
    notifySecret,
    // An hour between attempts: within a test only what the test does (or the time it moves) resends.
    env: { PAYMENT_INQUIRY_SCHEDULE: '1h' },
  });
  ({ server, merchant } = stack);
  const context = {
    ...loadConfiguration({}),
    sql: server.database.sql,
    log: createLogger({ level: 'silent' }),
    clock: systemClock,
  };
  ledger = (await ledgerModule.create!(context, {})).face as LedgerFace;
});
after(async () => {
  await stack.close();
});

function bankRedirect(): Promise<BankRedirect> {
  return createBankRedirect(server.baseUrl, merchant, stack.acquirer.url);
}

function reversalOf(paymentId: string): Promise<OwedOperationRow | undefined> {
  return owedOperationOf(server.database.sql, paymentId, 'void');
}

function waitForReversal(paymentId: string, done: (row: OwedOperationRow) => boolean) {
  return waitForReversalIn(server.database.sql, paymentId, done);
}

function acquirerInquiry(reference: string): Promise<Record<string, unknown>> {
  return inquiryAt(stack.acquirer.url, reference);
}

function acquirerCaptureDecline(authorizationId: string): Promise<unknown> {
  return captureDeclineAt(stack.acquirer.url, authorizationId);
}

function deliver(notification: AcquirerNotification): Promise<number> {
  return deliverNotification(server.baseUrl, notification);
}

function payerApprovesNotificationHeld(redirect: BankRedirect): Promise<AcquirerNotification> {
  return approvesHeldAt(stack.forwarder, redirect);
}

/** The payment is unchanged and nothing ever reached the ledger; the whole ledger verifies. */
async function assertUntouched(paymentId: string, status: string): Promise<void> {
  const payment = await call(server.baseUrl, merchant, 'GET', `/payments/${paymentId}`);
  assert.equal(payment.body.status, status);
  assert.equal(payment.body.authorizedAmount, 0);
  assert.equal(payment.body.ledgerHold, 0);
  assert.equal(payment.body.ledgerBalance, 0);
  assert.deepEqual(payment.body.ledgerEntries, [], 'no ledger movement');
  const report = await ledger.verify(server.database.sql);
  assert.deepEqual(report.violations, []);
  assert.equal(report.ok, true);
}

test('void of a waiting bank redirect cancels it at the acquirer: the payer approves too late, nothing is held', async () => {
  const redirect = await bankRedirect();
  const voided = await call(server.baseUrl, merchant, 'POST', `/payments/${redirect.paymentId}/void`, {});
  assert.equal(voided.status, 200, voided.text);
  assert.equal(voided.body.status, 'VOIDED');
  // Sent right after the void's commit, or by the job if it claimed the row first.
  const reversal = await waitForReversal(redirect.paymentId, (row) => row.status !== 'pending');
  assert.equal(reversal?.reason, 'void');
  assert.equal(reversal?.status, 'reversed');
  const cancel = await acquirerInquiry(`${redirect.paymentId}.reversal`);
  assert.equal(cancel.status, 'voided');
  assert.equal(cancel.voidId, reversal?.acquirer_operation_id);

  await payerApproves(redirect);
  const authorization = await acquirerInquiry(`${redirect.paymentId}.authorization`);
  assert.deepEqual(
    [authorization.status, authorization.declineCode],
    ['declined', 'authorization_voided'],
    'the acquirer refused the late approval',
  );
  assert.equal(await acquirerCaptureDecline(redirect.authorizationId), 'authorization_voided');
  await assertUntouched(redirect.paymentId, 'VOIDED');
});

test('expiry of a waiting bank redirect cancels it at the acquirer; a later approval is refused', async () => {
  const redirect = await bankRedirect();
  // Its validity ends now (as if seven days had passed); the expiry and reversal jobs take it from here.
  await server.database.sql`
    update payments.payments set expires_at = now() - interval '1 second' where id = ${redirect.paymentId}`;
  await waitForPayment(server.baseUrl, merchant, redirect.paymentId, (item) => item.status === 'EXPIRED');
  const reversal = await waitForReversal(redirect.paymentId, (row) => row.status !== 'pending');
  assert.equal(reversal.reason, 'expiry');
  assert.equal(reversal.status, 'reversed');

  await payerApproves(redirect);
  const authorization = await acquirerInquiry(`${redirect.paymentId}.authorization`);
  assert.deepEqual([authorization.status, authorization.declineCode], ['declined', 'authorization_voided']);
  assert.equal(await acquirerCaptureDecline(redirect.authorizationId), 'authorization_voided');
  await assertUntouched(redirect.paymentId, 'EXPIRED');
});

test('acquirer down during the void: VOIDED at once, the cancel stays owed and is sent once the acquirer is back', async () => {
  const redirect = await bankRedirect();
  stack.acquirer.configureFaults({ failureRate: 1 });
  try {
    const voided = await call(server.baseUrl, merchant, 'POST', `/payments/${redirect.paymentId}/void`, {});
    assert.equal(voided.status, 200, voided.text);
    assert.equal(voided.body.status, 'VOIDED', 'the merchant gets its answer; the acquirer is owed a cancel');
    // The first attempt fails, whoever makes it: the void right after its commit, or the job when it
    // claimed the row first.
    const owed = await waitForReversal(redirect.paymentId, (row) => row.attempts >= 1);
    assert.deepEqual([owed.status, owed.attempts], ['pending', 1]);
  } finally {
    stack.acquirer.configureFaults({ failureRate: 0 });
  }
  // The hour until the next attempt has passed; the reversal job sends it.
  await server.database.sql`
    update payments.owed_acquirer_operations set next_attempt_at = now() where payment_id = ${redirect.paymentId}`;
  const reversal = await waitForReversal(redirect.paymentId, (row) => row.status !== 'pending');
  assert.equal(reversal.status, 'reversed');
  assert.equal(reversal.attempts, 1, 'one failed attempt, then the one that worked');

  await payerApproves(redirect);
  const authorization = await acquirerInquiry(`${redirect.paymentId}.authorization`);
  assert.deepEqual([authorization.status, authorization.declineCode], ['declined', 'authorization_voided']);
  await assertUntouched(redirect.paymentId, 'VOIDED');
});

test('an approval notified after the void (duplicated) voids the approved authorization once; the payment stays VOIDED', async () => {
  const redirect = await bankRedirect();
  stack.acquirer.configureFaults({ failureRate: 1 });
  let notification: AcquirerNotification;
  try {
    const voided = await call(server.baseUrl, merchant, 'POST', `/payments/${redirect.paymentId}/void`, {});
    assert.equal(voided.body.status, 'VOIDED');
    // The cancel did not get through, so the payer can still approve at the bank (its pages are up).
    notification = await payerApprovesNotificationHeld(redirect);
    // PayFlow cannot confirm the approval while the acquirer is down: 503, so the acquirer retries.
    assert.equal(await deliver(notification), 503);
    assert.equal((await reversalOf(redirect.paymentId))?.late_approvals, 0);
  } finally {
    stack.acquirer.configureFaults({ failureRate: 0 });
  }
  // The acquirer is back and delivers the approval twice at once (a retry crossing the first).
  const statuses = await Promise.all([deliver(notification), deliver(notification)]);
  assert.deepEqual(statuses, [204, 204]);
  // Sent by the notification at once, or by the job if it claimed the row first.
  const reversal = await waitForReversal(redirect.paymentId, (row) => row.status !== 'pending');
  assert.equal(reversal?.status, 'reversed');
  assert.equal(reversal?.late_approvals, 2, 'both deliveries are on record');
  const [count] = await server.database.sql<{ n: number }[]>`
    select count(*)::int as n from payments.owed_acquirer_operations where payment_id = ${redirect.paymentId}`;
  assert.equal(count?.n, 1);
  const voidAtAcquirer = await acquirerInquiry(`${redirect.paymentId}.reversal`);
  assert.equal(voidAtAcquirer.status, 'voided');
  assert.equal(voidAtAcquirer.voidId, reversal?.acquirer_operation_id, 'one void at the acquirer');
  const authorization = await acquirerInquiry(`${redirect.paymentId}.authorization`);
  assert.equal(authorization.status, 'approved', 'the payer did approve');
  assert.equal(await acquirerCaptureDecline(redirect.authorizationId), 'authorization_voided');
  // A third, late copy changes nothing either.
  assert.equal(await deliver(notification), 204);
  assert.equal(
    (await reversalOf(redirect.paymentId))?.acquirer_operation_id,
    reversal?.acquirer_operation_id,
  );
  await assertUntouched(redirect.paymentId, 'VOIDED');
});

test('a payment finished before reversals existed: a late approval alone makes PayFlow owe and send the void', async () => {
  const redirect = await bankRedirect();
  stack.acquirer.configureFaults({ failureRate: 1 });
  let notification: AcquirerNotification;
  try {
    await call(server.baseUrl, merchant, 'POST', `/payments/${redirect.paymentId}/void`, {});
    notification = await payerApprovesNotificationHeld(redirect);
  } finally {
    stack.acquirer.configureFaults({ failureRate: 0 });
  }
  // As a payment voided by an earlier PayFlow, which owed the acquirer nothing.
  await server.database
    .sql`delete from payments.owed_acquirer_operations where payment_id = ${redirect.paymentId}`;
  assert.equal(await deliver(notification), 204);
  // Sent by the notification at once, or by the job if it claimed the row first.
  const reversal = await waitForReversal(redirect.paymentId, (row) => row.status !== 'pending');
  assert.deepEqual(
    [reversal?.reason, reversal?.status, reversal?.late_approvals],
    ['late_approval', 'reversed', 1],
  );
  assert.equal(await acquirerCaptureDecline(redirect.authorizationId), 'authorization_voided');
  await assertUntouched(redirect.paymentId, 'VOIDED');
});
