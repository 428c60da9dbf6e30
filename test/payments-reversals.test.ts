// Voids PayFlow owes the acquirer (ADR 14): a bank redirect voided or expired while its payer had not
// decided is cancelled at the acquirer, so the payer can no longer approve it; an approval the
// acquirer notifies for a payment PayFlow has finished is voided at the acquirer, once, and never
// changes the payment or the ledger. Real PayFlow over HTTP, the real simulator on its own port.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestServer, type TestServer } from './support/server.ts';
import { merchantSession, type MerchantSession } from './support/identity.ts';
import { call, paymentsEnv, startTestAcquirer, waitForPayment } from './support/payments.ts';
import { loadConfig } from '../src/platform/config.ts';
import { createLogger } from '../src/platform/log.ts';
import { systemClock } from '../src/platform/clock.ts';
import { ledgerModule, type LedgerFace } from '../src/modules/ledger/index.ts';
import type { RunningSimulator } from '../src/simulator/index.ts';

const notifySecret = 'test-notify-secret-reversals-0123456789';
let forwardTo = '';
/** While set, the forwarder keeps the acquirer's notifications here (answering 200) instead of passing them on. */
let held: { headers: Record<string, string>; body: Buffer }[] | undefined;
let forwarder: Server;
let acquirer: RunningSimulator;
let server: TestServer;
let merchant: MerchantSession;
let ledger: LedgerFace;

/** The acquirer must know where to notify before PayFlow (port 0) listens: a forwarder bridges that. */
async function startForwarder(): Promise<string> {
  forwarder = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.headers)) {
        if (typeof value === 'string' && name !== 'host' && name !== 'content-length') headers[name] = value;
      }
      if (held) {
        held.push({ headers, body: Buffer.concat(chunks) });
        response.writeHead(200);
        response.end();
        return;
      }
      fetch(`${forwardTo}${request.url ?? '/'}`, { method: 'POST', headers, body: Buffer.concat(chunks) })
        .then(async (answer) => {
          response.writeHead(answer.status);
          response.end(await answer.text());
        })
        .catch(() => {
          response.writeHead(502);
          response.end();
        });
    });
  });
  await new Promise<void>((resolve) => forwarder.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(forwarder.address() as AddressInfo).port}`;
}

before(async () => {
  const forwarderUrl = await startForwarder();
  acquirer = await startTestAcquirer({
    notifyUrl: `${forwarderUrl}/internal/acquirer/notifications`,
    notifySecret,
  });
  server = await startTestServer({
    // An hour between attempts: within a test only what the test does (or the time it moves) resends.
    env: paymentsEnv(acquirer.url, { ACQUIRER_NOTIFY_SECRET: notifySecret, PAYMENT_INQUIRY_SCHEDULE: '1h' }),
  });
  forwardTo = server.baseUrl;
  merchant = await merchantSession(server);
  const context = {
    config: loadConfig({}),
    sql: server.database.sql,
    log: createLogger({ level: 'silent' }),
    clock: systemClock,
  };
  ledger = (await ledgerModule.create!(context, {})).face as LedgerFace;
});
after(async () => {
  await server.close();
  await acquirer.close();
  forwarder.close();
});

interface BankRedirect {
  readonly paymentId: string;
  readonly redirectUrl: string;
  readonly authorizationId: string;
}

async function bankRedirect(): Promise<BankRedirect> {
  const body = {
    amount: 4500,
    currency: 'EUR',
    paymentMethod: { type: 'bank_redirect', returnUrl: 'https://shop.example/done' },
  };
  const answer = await call(server.baseUrl, merchant, 'POST', '/payments/authorize', body);
  assert.equal(answer.status, 202, answer.text);
  assert.equal(answer.body.status, 'REQUIRES_ACTION');
  const redirectUrl = (answer.body.nextAction as { redirectUrl: string }).redirectUrl;
  const authorizationId = decodeURIComponent(new URL(redirectUrl).pathname.split('/').at(-1)!);
  return { paymentId: answer.body.paymentId as string, redirectUrl, authorizationId };
}

interface ReversalRow {
  reason: string;
  status: string;
  attempts: number;
  acquirer_operation_id: string | null;
  late_approvals: number;
}

async function reversalOf(paymentId: string): Promise<ReversalRow | undefined> {
  const [row] = await server.database.sql<ReversalRow[]>`
    select reason, status, attempts, acquirer_operation_id, late_approvals from payments.owed_acquirer_operations
    where payment_id = ${paymentId} and operation = 'void'`;
  return row;
}

async function waitForReversal(paymentId: string, done: (row: ReversalRow) => boolean): Promise<ReversalRow> {
  let last: ReversalRow | undefined;
  for (let attempt = 0; attempt < 200; attempt += 1) {
    last = await reversalOf(paymentId);
    if (last && done(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`reversal of ${paymentId} never reached the expected state; last: ${JSON.stringify(last)}`);
}

async function acquirerInquiry(reference: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${acquirer.url}/v1/operations/${encodeURIComponent(reference)}`);
  assert.equal(response.status, 200, `the acquirer knows ${reference}`);
  return (await response.json()) as Record<string, unknown>;
}

/** What the acquirer says to a capture attempt: declined `authorization_voided` once nothing is held. */
async function acquirerCaptureDecline(authorizationId: string): Promise<unknown> {
  const response = await fetch(`${acquirer.url}/v1/authorizations/${authorizationId}/captures`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ reference: `probe-${authorizationId}-${Date.now()}`, amount: 1 }),
  });
  return ((await response.json()) as { declineCode?: unknown }).declineCode;
}

/** The payer clicks Approve on the bank page (an old tab, or after the merchant gave up). */
async function payerApproves(redirect: BankRedirect): Promise<void> {
  const page = await fetch(`${redirect.redirectUrl}/approve`, { method: 'POST', redirect: 'manual' });
  assert.equal(page.status, 303, 'the bank sends the browser back to the shop');
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

async function deliver(notification: { headers: Record<string, string>; body: Buffer }): Promise<number> {
  const response = await fetch(`${server.baseUrl}/internal/acquirer/notifications`, {
    method: 'POST',
    headers: notification.headers,
    body: notification.body,
  });
  return response.status;
}

/** The payer approves while the acquirer's notification is held back; returns the held notification. */
async function payerApprovesNotificationHeld(
  redirect: BankRedirect,
): Promise<{ headers: Record<string, string>; body: Buffer }> {
  held = [];
  try {
    await payerApproves(redirect);
    for (let attempt = 0; attempt < 200 && held.length === 0; attempt += 1)
      await new Promise((resolve) => setTimeout(resolve, 25));
    const [notification] = held;
    assert.ok(notification, 'the acquirer notified the approval');
    assert.equal((JSON.parse(notification.body.toString('utf8')) as { status: string }).status, 'approved');
    return notification;
  } finally {
    held = undefined;
  }
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
  acquirer.configureFaults({ failureRate: 1 });
  try {
    const voided = await call(server.baseUrl, merchant, 'POST', `/payments/${redirect.paymentId}/void`, {});
    assert.equal(voided.status, 200, voided.text);
    assert.equal(voided.body.status, 'VOIDED', 'the merchant gets its answer; the acquirer is owed a cancel');
    const owed = await reversalOf(redirect.paymentId);
    assert.deepEqual([owed?.status, owed?.attempts], ['pending', 1]);
  } finally {
    acquirer.configureFaults({ failureRate: 0 });
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
  acquirer.configureFaults({ failureRate: 1 });
  let notification: { headers: Record<string, string>; body: Buffer };
  try {
    const voided = await call(server.baseUrl, merchant, 'POST', `/payments/${redirect.paymentId}/void`, {});
    assert.equal(voided.body.status, 'VOIDED');
    // The cancel did not get through, so the payer can still approve at the bank (its pages are up).
    notification = await payerApprovesNotificationHeld(redirect);
    // PayFlow cannot confirm the approval while the acquirer is down: 503, so the acquirer retries.
    assert.equal(await deliver(notification), 503);
    assert.equal((await reversalOf(redirect.paymentId))?.late_approvals, 0);
  } finally {
    acquirer.configureFaults({ failureRate: 0 });
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
  acquirer.configureFaults({ failureRate: 1 });
  let notification: { headers: Record<string, string>; body: Buffer };
  try {
    await call(server.baseUrl, merchant, 'POST', `/payments/${redirect.paymentId}/void`, {});
    notification = await payerApprovesNotificationHeld(redirect);
  } finally {
    acquirer.configureFaults({ failureRate: 0 });
  }
  // As a payment voided by an earlier PayFlow, which owed the acquirer nothing.
  await server.database
    .sql`delete from payments.owed_acquirer_operations where payment_id = ${redirect.paymentId}`;
  assert.equal(await deliver(notification), 204);
  const reversal = await reversalOf(redirect.paymentId);
  assert.deepEqual(
    [reversal?.reason, reversal?.status, reversal?.late_approvals],
    ['late_approval', 'reversed', 1],
  );
  assert.equal(await acquirerCaptureDecline(redirect.authorizationId), 'authorization_voided');
  await assertUntouched(redirect.paymentId, 'VOIDED');
});
