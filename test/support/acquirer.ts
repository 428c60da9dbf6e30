// Helpers for payments tests that talk to the acquirer simulator directly: a forwarder for its signed
// notifications (which can hold them back), PayFlow behind it, bank redirects and the payer's click
// on the bank page, and what the acquirer itself says about an operation.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunningSimulator } from '../../src/simulator/index.ts';
import type { Sql } from '../../src/platform/db/client.ts';
import { startTestServer, type TestServer } from './server.ts';
import { merchantSession, type MerchantSession } from './identity.ts';
import { call, paymentsEnv, startTestAcquirer } from './payments.ts';
import { eventually } from './eventually.ts';

/** A notification from the acquirer as it was sent: its headers (signature included) and body. */
export interface AcquirerNotification {
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

export function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

/** The request's headers as fetch takes them again (without host and content-length). */
export function headersOf(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (typeof value === 'string' && name !== 'host' && name !== 'content-length') headers[name] = value;
  }
  return headers;
}

/** Sends the request on to `target` and its answer (status, content-type, body) back; 502 if it fails. */
export function pass(
  response: ServerResponse,
  target: string,
  method: string,
  headers: Record<string, string>,
  body: Buffer,
): void {
  fetch(target, { method, headers, ...(method === 'POST' && { body }) })
    .then(async (answer) => {
      response.writeHead(answer.status, {
        'content-type': answer.headers.get('content-type') ?? 'text/plain',
      });
      response.end(await answer.text());
    })
    .catch(() => {
      response.writeHead(502);
      response.end();
    });
}

export interface NotificationForwarder {
  /** Where the acquirer notifies: the forwarder's /internal/acquirer/notifications. */
  readonly notifyUrl: string;
  /** The PayFlow base URL notifications are passed on to. */
  forwardTo: string;
  /**
   * Runs `action` while keeping the acquirer's notifications (answering 200) instead of passing them
   * on, and returns the first one kept (undefined if none came within ten seconds).
   */
  holdDuring(action: () => Promise<void>): Promise<AcquirerNotification | undefined>;
  close(): void;
}

/** The acquirer must know where to notify before PayFlow (port 0) listens: a forwarder bridges that. */
export async function startNotificationForwarder(): Promise<NotificationForwarder> {
  let held: AcquirerNotification[] | undefined;
  const server: Server = createServer((request, response) => {
    void readBody(request).then((body) => {
      const headers = headersOf(request);
      if (held) {
        held.push({ headers, body });
        response.writeHead(200);
        response.end();
        return;
      }
      pass(response, `${forwarder.forwardTo}${request.url ?? '/'}`, request.method ?? 'POST', headers, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const forwarder: NotificationForwarder = {
    notifyUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/internal/acquirer/notifications`,
    forwardTo: '',
    async holdDuring(action) {
      const kept: AcquirerNotification[] = [];
      held = kept;
      try {
        await action();
        for (let attempt = 0; attempt < 400 && kept.length === 0; attempt += 1)
          await new Promise((resolve) => setTimeout(resolve, 25));
        return kept[0];
      } finally {
        held = undefined;
      }
    },
    close: () => server.close(),
  };
  return forwarder;
}

export interface BankRedirectStack {
  readonly forwarder: NotificationForwarder;
  readonly acquirer: RunningSimulator;
  readonly server: TestServer;
  readonly merchant: MerchantSession;
  close(): Promise<void>;
}

/**
 * The simulator notifying PayFlow through a forwarder, with the shared secret, PayFlow under test
 * and a merchant. `acquirerUrl` gives PayFlow's ACQUIRER_URL (the simulator's own by default).
 */
export async function startBankRedirectStack(options: {
  readonly notifySecret: string;
  readonly env?: Record<string, string>;
  readonly acquirerUrl?: (acquirer: RunningSimulator) => Promise<string>;
}): Promise<BankRedirectStack> {
  const forwarder = await startNotificationForwarder();
  const acquirer = await startTestAcquirer({
    notifyUrl: forwarder.notifyUrl,
    notifySecret: options.notifySecret,
  });
  const acquirerUrl = options.acquirerUrl ? await options.acquirerUrl(acquirer) : acquirer.url;
  const server = await startTestServer({
    env: paymentsEnv(acquirerUrl, { ACQUIRER_NOTIFY_SECRET: options.notifySecret, ...options.env }),
  });
  forwarder.forwardTo = server.baseUrl;
  const merchant = await merchantSession(server);
  return {
    forwarder,
    acquirer,
    server,
    merchant,
    async close() {
      await server.close();
      await acquirer.close();
      forwarder.close();
    },
  };
}

export interface BankRedirect {
  readonly paymentId: string;
  readonly redirectUrl: string;
  /** The acquirer's authorization id (the last part of the redirect URL). */
  readonly authorizationId: string;
  readonly amount: number;
}

/** POST /payments/authorize for a bank redirect: 202 REQUIRES_ACTION with a redirect to the acquirer. */
export async function bankRedirect(
  baseUrl: string,
  session: MerchantSession,
  acquirerUrl: string,
  options: { readonly amount?: number; readonly capture?: boolean } = {},
): Promise<BankRedirect> {
  const amount = options.amount ?? 4500;
  const body = {
    amount,
    currency: 'EUR',
    paymentMethod: { type: 'bank_redirect', returnUrl: 'https://shop.example/done' },
    ...(options.capture !== undefined && { capture: options.capture }),
  };
  const answer = await call(baseUrl, session, 'POST', '/payments/authorize', body);
  assert.equal(answer.status, 202, answer.text);
  assert.equal(answer.body.status, 'REQUIRES_ACTION');
  const nextAction = answer.body.nextAction as { type: string; redirectUrl: string };
  assert.equal(nextAction.type, 'redirect');
  assert.ok(nextAction.redirectUrl.startsWith(acquirerUrl), nextAction.redirectUrl);
  const redirectUrl = nextAction.redirectUrl;
  const authorizationId = decodeURIComponent(new URL(redirectUrl).pathname.split('/').at(-1)!);
  return { paymentId: answer.body.paymentId as string, redirectUrl, authorizationId, amount };
}

/** The payer clicks Approve on the bank page; the bank sends the browser back to the shop (303). */
export async function payerApproves(redirect: Pick<BankRedirect, 'redirectUrl'>): Promise<Response> {
  const page = await fetch(`${redirect.redirectUrl}/approve`, { method: 'POST', redirect: 'manual' });
  assert.equal(page.status, 303, 'the bank sends the browser back to the shop');
  return page;
}

/** The payer approves while the acquirer's notification is held back; returns the held notification. */
export async function payerApprovesNotificationHeld(
  forwarder: NotificationForwarder,
  redirect: Pick<BankRedirect, 'redirectUrl'>,
): Promise<AcquirerNotification> {
  const notification = await forwarder.holdDuring(async () => {
    await payerApproves(redirect);
  });
  assert.ok(notification, 'the acquirer notified the approval');
  assert.equal((JSON.parse(notification.body.toString('utf8')) as { status: string }).status, 'approved');
  return notification;
}

/** Delivers a (held) notification to PayFlow as the acquirer would; returns PayFlow's status. */
export async function deliverNotification(
  baseUrl: string,
  notification: AcquirerNotification,
): Promise<number> {
  const response = await fetch(`${baseUrl}/internal/acquirer/notifications`, {
    method: 'POST',
    headers: notification.headers,
    body: notification.body,
  });
  return response.status;
}

/** What the acquirer knows of the operation under `reference` (404 when none). */
export async function acquirerOperation(
  acquirerUrl: string,
  reference: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${acquirerUrl}/v1/operations/${encodeURIComponent(reference)}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** The operation under `reference`, which the acquirer must know. */
export async function acquirerInquiry(
  acquirerUrl: string,
  reference: string,
): Promise<Record<string, unknown>> {
  const { status, body } = await acquirerOperation(acquirerUrl, reference);
  assert.equal(status, 200, `the acquirer knows ${reference}`);
  return body;
}

/**
 * What the acquirer says to one more capture of a unit: `authorization_voided` once nothing is
 * held, `amount_exceeds_authorization` once the whole amount is taken.
 */
export async function acquirerCaptureDecline(acquirerUrl: string, authorizationId: string): Promise<unknown> {
  const response = await fetch(`${acquirerUrl}/v1/authorizations/${authorizationId}/captures`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ reference: `probe-${authorizationId}-${Date.now()}`, amount: 1 }),
  });
  return ((await response.json()) as { declineCode?: unknown }).declineCode;
}

/** A row of payments.owed_acquirer_operations (ADR 14, ADR 17). */
export interface OwedOperationRow {
  reason: string;
  status: string;
  attempts: number;
  amount: bigint | null;
  acquirer_operation_id: string | null;
  late_approvals: number;
  decline_code: string | null;
  next_attempt_at: Date | null;
}

/** The void or capture PayFlow owes the acquirer for the payment, if any. */
export async function owedOperationOf(
  sql: Sql,
  paymentId: string,
  operation: 'void' | 'capture',
): Promise<OwedOperationRow | undefined> {
  const [row] = await sql<OwedOperationRow[]>`
    select reason, status, attempts, amount, acquirer_operation_id, late_approvals, decline_code,
      next_attempt_at
    from payments.owed_acquirer_operations
    where payment_id = ${paymentId} and operation = ${operation}`;
  return row;
}

/** Polls the owed void of the payment (ADR 14) until `done` holds (about 15 seconds at the most). */
export async function waitForReversal(
  sql: Sql,
  paymentId: string,
  done: (row: OwedOperationRow) => boolean,
): Promise<OwedOperationRow> {
  let last: OwedOperationRow | undefined;
  return eventually(
    () =>
      `the reversal of ${paymentId} to reach the expected state; last: ${JSON.stringify(last, (_, value: unknown) => (typeof value === 'bigint' ? String(value) : value))}`,
    async () => {
      last = await owedOperationOf(sql, paymentId, 'void');
      return last && done(last) ? last : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 50 },
  );
}
