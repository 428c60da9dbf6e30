// `npm run demo [-- --scenario N] [--url URL]`: plays the spec's scenarios against a running PayFlow
// and narrates each step: the HTTP call, the answer's key fields, and the ledger after it. Every call
// goes through the client SDK (sdk/, ADR 26) as a merchant's code would: its OAuth2 token, its
// Idempotency-Keys, its bigint money and its typed errors; the narration reads the status and
// headers from the fetch the SDK is given. With no
// PayFlow answering at the URL (default http://localhost:8080, or $API), it starts one itself on a
// fresh embedded database (or $DATABASE_URL) in a temporary data directory, with short schedules so
// that the janitor and webhook retries happen within seconds. Every step checks what it narrates:
// the first step whose answer differs ends the demo with exit code 1.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt, randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import net from 'node:net';
import { freePort } from '../src/platform/ports.ts';
import os from 'node:os';
import path from 'node:path';
import { styleText } from 'node:util';
import { PayFlowClient, PayFlowError, verifyWebhook } from '../sdk/src/index.ts';
import { withLuhnCheckDigit } from '../src/simulator/test-cards.ts';

const root = path.resolve(import.meta.dirname, '..');
const colour = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (style: Parameters<typeof styleText>[0], text: string): string =>
  colour ? styleText(style, text) : text;

class DemoFailure extends Error {}

function expect(condition: boolean, what: string): void {
  if (!condition) throw new DemoFailure(what);
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

interface Demo {
  api: string;
  client: PayFlowClient;
  /** The last answer the SDK's fetch received (the SDK returns bodies; the narration shows statuses). */
  last: () => Response | undefined;
  /** Whether this PayFlow was started by the demo with its short schedules. */
  own: boolean;
  /** An operator's client (admin role), for settlement and reconciliation; absent: scenario 7 says why. */
  admin?: PayFlowClient;
}

function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

function complain(text: string): void {
  process.stderr.write(`${text}\n`);
}

function step(text: string): void {
  say(`\n${paint('bold', '▸')} ${text}`);
}

/** JSON for the narration; the SDK's bigint amounts print as the integers they are. */
function shown(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? Number(item) : item));
}

/**
 * One SDK call, narrated: prints the HTTP call, runs it, and returns its status, body and headers.
 * A PayFlowError (any 4xx/5xx the SDK does not retry) is an answer too: its problem is the body.
 */
async function viaSdk(
  demo: Demo,
  narration: { method: string; route: string; body?: unknown; idempotencyKey?: string; quiet?: boolean },
  run: (client: PayFlowClient) => Promise<unknown>,
  via: PayFlowClient = demo.client,
): Promise<Answer> {
  const { method, route, body, idempotencyKey, quiet = false } = narration;
  const keyNote =
    idempotencyKey === undefined ? '' : paint('dim', `  (Idempotency-Key ${idempotencyKey.slice(0, 8)}…)`);
  if (!quiet)
    say(`  ${paint('cyan', `${method} ${route}`)}${body === undefined ? '' : ` ${shown(body)}`}${keyNote}`);
  try {
    const result = (await run(via)) as Record<string, unknown>;
    const response = demo.last();
    return { status: response?.status ?? 200, body: result, headers: response?.headers ?? new Headers() };
  } catch (error) {
    if (!(error instanceof PayFlowError)) throw error;
    return {
      status: error.status,
      body: { ...error.problem },
      headers: demo.last()?.headers ?? new Headers(),
    };
  }
}

/** Any other route, through the SDK's `request` (token, Idempotency-Key on unsafe methods, retries). */
async function call(
  demo: Demo,
  method: string,
  route: string,
  body?: unknown,
  idempotencyKey?: string,
  quiet = false,
  via: PayFlowClient = demo.client,
): Promise<Answer> {
  return viaSdk(
    demo,
    { method, route, body, idempotencyKey, quiet },
    (client) => client.request(method, route, body, idempotencyKey === undefined ? {} : { idempotencyKey }),
    via,
  );
}

function answered(answer: Answer, fields: string[]): void {
  const picked: Record<string, unknown> = {};
  for (const field of fields) if (answer.body[field] !== undefined) picked[field] = answer.body[field];
  const good = answer.status < 400;
  say(`  ${paint(good ? 'green' : 'yellow', `→ ${answer.status}`)} ${shown(picked)}`);
}

async function ledgerOf(demo: Demo, paymentId: string): Promise<void> {
  const payment = await viaSdk(
    demo,
    { method: 'GET', route: `/v1/payments/${paymentId}`, quiet: true },
    (client) => client.getPayment(paymentId),
  );
  const entries = (payment.body.ledgerEntries ?? []) as Array<Record<string, unknown>>;
  say(
    paint(
      'dim',
      `  ledger of ${paymentId}: balance ${shown(payment.body.ledgerBalance)}, hold ${shown(payment.body.ledgerHold)}`,
    ),
  );
  for (const entry of entries) say(paint('dim', `    ${shown(entry)}`));
  const balance = await call(demo, 'GET', '/v1/balance', undefined, undefined, true);
  say(paint('dim', `  merchant balance: ${shown(balance.body.balances)}`));
}

async function tokenizeCard(demo: Demo, number: string): Promise<string> {
  const card = { number, expMonth: 12, expYear: new Date().getUTCFullYear() + 3, cvc: '123' };
  const answer = await viaSdk(demo, { method: 'POST', route: '/v1/tokens', body: { card } }, (client) =>
    client.tokenizeCard(card),
  );
  expect(answer.status === 201, `tokenizing a card answered ${answer.status}`);
  say(`  → 201 token ${String(answer.body.token)} (the card number stays in the vault)`);
  return String(answer.body.token);
}

/**
 * A Luhn-valid Visa number the simulator approves, different on every call: the fraud screening
 * (ADR 21) blocks one card tried more than 10 times an hour, and the demo may be played again and
 * again against the same PayFlow.
 */
function freshCard(): string {
  return withLuhnCheckDigit(`4${String(randomInt(0, 1e14)).padStart(14, '0')}`);
}

type AuthorizeInput = Parameters<PayFlowClient['authorize']>[0];

/** POST /v1/payments/authorize through the SDK, under the given Idempotency-Key (a new one by default). */
async function authorizeWith(demo: Demo, input: AuthorizeInput, key = randomUUID()): Promise<Answer> {
  return viaSdk(
    demo,
    { method: 'POST', route: '/v1/payments/authorize', body: input, idempotencyKey: key },
    (client) => client.authorize(input, { idempotencyKey: key }),
  );
}

async function authorize(demo: Demo, token: string, amount: bigint, key = randomUUID()): Promise<Answer> {
  return authorizeWith(
    demo,
    {
      amount,
      currency: 'USD',
      paymentMethod: { type: 'card', token },
      metadata: { orderId: `order-${key.slice(0, 8)}` },
    },
    key,
  );
}

async function capture(demo: Demo, paymentId: string): Promise<Answer> {
  const key = randomUUID();
  return viaSdk(
    demo,
    { method: 'POST', route: `/v1/payments/${paymentId}/capture`, body: {}, idempotencyKey: key },
    (client) => client.capture(paymentId, {}, { idempotencyKey: key }),
  );
}

async function refund(
  demo: Demo,
  paymentId: string,
  input: { amount: bigint; reason?: string },
): Promise<Answer> {
  const key = randomUUID();
  return viaSdk(
    demo,
    { method: 'POST', route: `/v1/payments/${paymentId}/refund`, body: input, idempotencyKey: key },
    (client) => client.refund(paymentId, input, { idempotencyKey: key }),
  );
}

async function paymentNow(demo: Demo, paymentId: string): Promise<Answer> {
  return viaSdk(demo, { method: 'GET', route: `/v1/payments/${paymentId}`, quiet: true }, (client) =>
    client.getPayment(paymentId),
  );
}

async function eventually<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new DemoFailure(`${what} did not happen within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

// 1. Card authorize + capture.
async function authorizeAndCapture(demo: Demo): Promise<void> {
  step('Tokenize a test card, then authorize 25.00 USD');
  const card = await tokenizeCard(demo, freshCard());
  const authorized = await authorize(demo, card, 2500n);
  answered(authorized, ['paymentId', 'status', 'amount', 'currency']);
  expect(
    authorized.status === 201 && authorized.body.status === 'AUTHORIZED',
    'the authorization was not approved',
  );
  const paymentId = String(authorized.body.paymentId);
  await ledgerOf(demo, paymentId);
  step('Capture the whole amount');
  const captured = await capture(demo, paymentId);
  answered(captured, ['status', 'capturedAmount']);
  expect(captured.status === 200 && captured.body.status === 'CAPTURED', 'the capture did not succeed');
  await ledgerOf(demo, paymentId);
}

// 2. Partial refund, then a refund above what is left.
async function partialRefund(demo: Demo): Promise<void> {
  step('Authorize and capture 40.00 USD in one call (capture: true)');
  const card = await tokenizeCard(demo, freshCard());
  const paid = await authorizeWith(demo, {
    amount: 4000n,
    currency: 'USD',
    paymentMethod: { type: 'card', token: card },
    capture: true,
  });
  answered(paid, ['paymentId', 'status']);
  expect(paid.status === 201 && paid.body.status === 'CAPTURED', 'the payment was not captured');
  const paymentId = String(paid.body.paymentId);
  step('Refund 15.00 of it');
  const refunded = await refund(demo, paymentId, { amount: 1500n, reason: 'customer_request' });
  answered(refunded, ['refundId', 'status', 'refundedAmount', 'paymentStatus']);
  expect(
    refunded.status === 200 && refunded.body.refundedAmount === 1500n,
    'the partial refund did not succeed',
  );
  await ledgerOf(demo, paymentId);
  step('Refund 30.00 more: only 25.00 is left, so PayFlow refuses and changes nothing');
  const tooMuch = await refund(demo, paymentId, { amount: 3000n });
  answered(tooMuch, ['code', 'detail']);
  expect(
    tooMuch.status === 409 && tooMuch.body.code === 'refund_exceeds_captured',
    'the over-refund was not refused',
  );
  await ledgerOf(demo, paymentId);
}

// 3. The same request twice with one key, then the key with another body.
async function idempotency(demo: Demo): Promise<void> {
  const card = await tokenizeCard(demo, freshCard());
  const key = randomUUID();
  step('Authorize 12.00 USD with an Idempotency-Key');
  const first = await authorize(demo, card, 1200n, key);
  answered(first, ['paymentId', 'status']);
  expect(first.status === 201, 'the first request failed');
  step('Send the very same request again (a client retrying after a lost answer)');
  const again = await authorize(demo, card, 1200n, key);
  answered(again, ['paymentId', 'status']);
  say(`  idempotent-replayed: ${again.headers.get('idempotent-replayed')}`);
  expect(
    again.status === 201 && again.body.paymentId === first.body.paymentId,
    'the retry did not replay the first answer',
  );
  say('  one payment, one hold: the retry changed nothing');
  step('Reuse the key with a different amount');
  const changed = await authorize(demo, card, 9900n, key);
  answered(changed, ['code', 'detail']);
  expect(
    changed.status === 409 || changed.status === 422,
    `a changed body under the same key answered ${changed.status}`,
  );
}

// 4. An acquirer timeout: PENDING, then the janitor asks the acquirer and finishes it.
async function acquirerTimeout(demo: Demo): Promise<void> {
  step('Authorize with the card whose acquirer approves but answers too late (4000000000003220)');
  const card = await tokenizeCard(demo, '4000000000003220');
  const key = randomUUID();
  const pending = await authorize(demo, card, 3000n, key);
  answered(pending, ['paymentId', 'status']);
  expect(
    pending.status === 202 && pending.body.status === 'PENDING',
    'the timed-out authorization is not PENDING',
  );
  const paymentId = String(pending.body.paymentId);
  say('  the outcome is unknown: PayFlow neither approves nor declines it, and holds nothing yet');
  await ledgerOf(demo, paymentId);
  if (!demo.own) {
    say(
      '  the janitor asks the acquirer on PAYMENT_INQUIRY_SCHEDULE (5 minutes for the first try by default):' +
        ` follow it with GET /v1/payments/${paymentId}. (A demo that starts its own PayFlow uses 2 s and waits.)`,
    );
    return;
  }
  step('Wait for the janitor to ask the acquirer by reference');
  const settled = await eventually('the janitor resolving the payment', 60_000, async () => {
    const answer = await paymentNow(demo, paymentId);
    return answer.body.status === 'PENDING' ? undefined : answer;
  });
  answered(settled, ['status']);
  expect(settled.body.status === 'AUTHORIZED', `the janitor left the payment ${String(settled.body.status)}`);
  step('The client retries its request with the same key and now gets the final answer');
  const retried = await authorize(demo, card, 3000n, key);
  answered(retried, ['paymentId', 'status']);
  expect(retried.body.status === 'AUTHORIZED', 'the retry did not get the final answer');
  await ledgerOf(demo, paymentId);
}

async function startReceiver(secret: () => string): Promise<{ server: Server; url: string; seen: string[] }> {
  const seen: string[] = [];
  let failedOnce = false;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const id = String(request.headers['webhook-id']);
      if (!failedOnce) {
        failedOnce = true;
        say(`  receiver: ${id} → answering 500 (a receiver having a bad moment)`);
        response.writeHead(500).end();
        return;
      }
      try {
        verifyWebhook({ headers: request.headers as Record<string, string>, rawBody, secret: secret() });
        seen.push(id);
        say(`  receiver: ${id} → signature verified, ${JSON.parse(rawBody).type} → 200`);
        response.writeHead(200).end();
      } catch (error) {
        say(`  receiver: ${id} → ${(error as Error).message} → 400`);
        response.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return { server, url: `http://127.0.0.1:${port}/payflow/webhooks`, seen };
}

// 5. A webhook delivered, signed, failed once and retried.
async function webhookRetried(demo: Demo): Promise<void> {
  let secret = '';
  const receiver = await startReceiver(() => secret);
  try {
    step('Register a webhook endpoint for payment.captured.v1 (the secret is shown once)');
    const endpoint = await call(demo, 'POST', '/v1/webhooks/endpoints', {
      url: receiver.url,
      eventTypes: ['payment.captured.v1'],
    });
    if (endpoint.status === 422 && endpoint.body.code === 'webhook_url_forbidden') {
      answered(endpoint, ['code']);
      say(
        '  this PayFlow refuses loopback webhook URLs (WEBHOOK_ALLOW_PRIVATE=false, the safe default):' +
          ' the scenario needs a receiver on this machine. Run the demo with no PayFlow on the port to see it.',
      );
      return;
    }
    answered(endpoint, ['id', 'url', 'eventTypes']);
    expect(endpoint.status === 201, 'the endpoint was not created');
    secret = String(endpoint.body.secret);
    step('Capture a payment: its payment.captured.v1 goes to the receiver');
    const card = await tokenizeCard(demo, freshCard());
    const paid = await authorizeWith(demo, {
      amount: 1800n,
      currency: 'USD',
      paymentMethod: { type: 'card', token: card },
      capture: true,
    });
    answered(paid, ['paymentId', 'status']);
    expect(paid.body.status === 'CAPTURED', 'the payment was not captured');
    const id = await eventually('a verified delivery', 90_000, async () => receiver.seen[0]);
    step('The delivery and its attempts, as PayFlow recorded them');
    // The receiver has answered 200; PayFlow records that attempt just after, so read until it has
    // (or until the wait ends, and the check below says what was recorded).
    const route = `/v1/webhooks/endpoints/${String(endpoint.body.id)}/deliveries`;
    const read = async () => {
      const deliveries = await call(demo, 'GET', route, undefined, undefined, true);
      const list = (deliveries.body.deliveries ?? deliveries.body.data ?? []) as Array<
        Record<string, unknown>
      >;
      const delivery = list.find((item) => item.webhookId === id || item.id === id) ?? list[0];
      return { deliveries, delivery, attempts: (delivery?.attempts ?? []) as Array<Record<string, unknown>> };
    };
    const recorded = await eventually('PayFlow recording the delivered attempt', 15_000, async () => {
      const current = await read();
      return current.delivery?.status === 'pending' ? undefined : current;
    }).catch(read);
    const { deliveries, delivery, attempts } = recorded;
    say(`  ${paint('cyan', `GET ${route}`)}`);
    say(
      `  → ${deliveries.status} ${shown({ status: delivery?.status, attempts: attempts.map((a) => a.statusCode) })}`,
    );
    expect(attempts.length >= 2, 'the delivery was not retried after the failure');
    await call(demo, 'DELETE', `/v1/webhooks/endpoints/${String(endpoint.body.id)}`);
  } finally {
    receiver.server.close();
  }
}

// 6. Fraud screening: a card-testing burst stopped before the acquirer, a risky card reviewed.
async function fraudScreening(demo: Demo): Promise<void> {
  const ip = `198.51.100.${randomInt(1, 255)}`;
  step(`Card testing: 7 different cards, 1.00 USD each, all from one IP (${ip})`);
  const statuses: number[] = [];
  let blocked: Answer | undefined;
  for (let index = 0; index < 7; index += 1) {
    const token = await tokenizeCard(demo, freshCard());
    const answer = await authorizeWith(demo, {
      amount: 100n,
      currency: 'USD',
      paymentMethod: { type: 'card', token },
      payer: { ipAddress: ip },
    });
    answered(answer, ['paymentId', 'status', 'code', 'risk']);
    statuses.push(answer.status);
    if (answer.status === 422) blocked ??= answer;
  }
  expect(
    statuses.slice(0, 5).every((status) => status === 201) && blocked !== undefined,
    `the burst was not stopped after 5 cards (answers ${statuses.join(', ')})`,
  );
  expect(blocked!.body.code === 'fraud_blocked', `a blocked attempt answered ${String(blocked!.body.code)}`);
  say(
    paint(
      'dim',
      '  the 6th card onwards: 422 fraud_blocked, FAILED, never sent to the acquirer, no ledger entry',
    ),
  );
  await ledgerOf(demo, String(blocked!.body.paymentId));

  step('A card with an elevated risk (4000000000009235), capture: true: authorized, but held for review');
  const risky = await tokenizeCard(demo, '4000000000009235');
  const held = await authorizeWith(demo, {
    amount: 5000n,
    currency: 'USD',
    paymentMethod: { type: 'card', token: risky },
    capture: true,
  });
  answered(held, ['paymentId', 'status', 'review']);
  expect(held.status === 201 && held.body.review === 'pending', 'the risky payment was not sent to review');
  const paymentId = String(held.body.paymentId);
  step('The merchant tries to capture it: refused while in review');
  const refused = await capture(demo, paymentId);
  answered(refused, ['code', 'detail']);
  expect(refused.status === 409 && refused.body.code === 'payment_in_review', 'the capture was not refused');
  step(
    'The review queue, and an analyst approves it: PayFlow captures it (it was created with capture: true)',
  );
  const queue = await call(demo, 'GET', '/v1/fraud/reviews', undefined, undefined);
  const waiting = (queue.body.data ?? []) as Array<Record<string, unknown>>;
  say(`  → ${queue.status} ${waiting.length} payment(s) in review`);
  const approved = await call(demo, 'POST', `/v1/fraud/reviews/${paymentId}/approve`, {});
  answered(approved, ['paymentId', 'status', 'review']);
  expect(approved.status === 200 && approved.body.review === 'approved', 'the approval failed');
  await eventually('the capture on approval', 15_000, async () => {
    const payment = await paymentNow(demo, paymentId);
    return payment.body.status === 'CAPTURED' ? payment : undefined;
  });
  say('  → the payment is CAPTURED');
  await ledgerOf(demo, paymentId);
}

// 7. Settle the day and reconcile the acquirer's report, one discrepancy found and adjusted.
async function settlementReconciliation(demo: Demo): Promise<void> {
  const admin = demo.admin;
  if (admin === undefined) {
    say(
      "  settlement and reconciliation are an operator's: set DEMO_ADMIN_CLIENT_ID and DEMO_ADMIN_CLIENT_SECRET" +
        ' (npx payflow clients create --role admin), or run the demo with no PayFlow on the port to see it.',
    );
    return;
  }
  const asOperator = (method: string, route: string, body?: unknown) =>
    call(demo, method, route, body, undefined, false, admin);
  const today = new Date().toISOString().slice(0, 10);
  step('Two sales today: 30.00 and 20.00 USD (capture: true), then a 5.00 refund of the first');
  const paymentIds: string[] = [];
  for (const amount of [3000n, 2000n]) {
    const card = await tokenizeCard(demo, freshCard());
    const sale = await authorizeWith(demo, {
      amount,
      currency: 'USD',
      paymentMethod: { type: 'card', token: card },
      capture: true,
    });
    answered(sale, ['paymentId', 'status', 'amount']);
    expect(sale.body.status === 'CAPTURED', 'the sale was not captured');
    paymentIds.push(String(sale.body.paymentId));
  }
  const refunded = await refund(demo, paymentIds[0]!, { amount: 500n });
  answered(refunded, ['status', 'refundedAmount']);
  expect(refunded.status === 200, 'the refund failed');
  // Settlement learns of captures and refunds from their events: wait until it has consumed them all.
  await eventually('the settlement consumer catching up', 30_000, async () => {
    const metrics = await fetch(`${demo.api}/metrics`, {
      headers: { authorization: `Bearer ${await admin.accessToken()}` },
    });
    const text = await metrics.text();
    const unpublished = /^payflow_events_outbox_unpublished (\d+)/m.exec(text)?.[1];
    const lag = /^payflow_events_consumer_lag\{group="settlement"\} (\d+)/m.exec(text)?.[1];
    return unpublished === '0' && lag === '0' ? true : undefined;
  });
  const pending = await call(demo, 'GET', '/v1/balance', undefined, undefined, true);
  say(paint('dim', `  merchant balance before settlement: ${shown(pending.body.balances)}`));

  step(`Settle today (${today}) as the operator: batches, fees, journals, a payout`);
  const run = await asOperator('POST', '/v1/admin/settlement/runs', { date: today });
  answered(run, ['outcome', 'summary']);
  expect(run.status === 200, `the settlement run answered ${run.status}`);
  if (run.body.outcome === 'already_completed')
    say("  today was settled before on this PayFlow: these sales settle with tomorrow's run");
  const batches = await call(demo, 'GET', '/v1/settlements?limit=1');
  const batch = ((batches.body.data ?? []) as Array<Record<string, unknown>>)[0];
  say(`  → ${batches.status} latest batch ${shown(batch)}`);
  step('The same day again changes nothing');
  const again = await asOperator('POST', '/v1/admin/settlement/runs', { date: today });
  answered(again, ['runId', 'outcome']);
  expect(again.body.outcome === 'already_completed', 'a second run of the day did something');

  const differing = `${paymentIds[1]}.capture`;
  step(`Fetch today's settlement report from the acquirer, which reports ${differing} one cent higher`);
  const reconciled = await asOperator('POST', '/v1/admin/reconciliation/fetch', {
    date: today,
    simulatorFaults: `amount=${differing}`,
  });
  answered(reconciled, ['runId', 'rows', 'counts']);
  const counts = (reconciled.body.counts ?? {}) as Record<string, number>;
  expect(
    reconciled.status === 201 && counts.amount_mismatch === 1 && (counts.matched ?? 0) >= 2,
    `the report did not show exactly one amount_mismatch (${shown(counts)})`,
  );
  const open = await asOperator('GET', '/v1/admin/reconciliation/exceptions?status=open&limit=500');
  const exception = ((open.body.data ?? []) as Array<Record<string, unknown>>).find(
    (item) => item.outcome === 'amount_mismatch' && item.reference === differing,
  );
  expect(exception !== undefined, 'the amount_mismatch is not among the open exceptions');
  say(`  → open exception ${shown(exception)}`);

  step('The operator resolves it: the acquirer paid a cent more, an adjustment journal posts it');
  const resolved = await asOperator(
    'POST',
    `/v1/admin/reconciliation/exceptions/${String(exception!.id)}/resolve`,
    {
      reason: 'acquirer confirmed: rounding on their side',
      adjustment: 'acquirer_difference',
    },
  );
  answered(resolved, ['id', 'status', 'adjustment']);
  const adjustment = (resolved.body.adjustment ?? {}) as Record<string, unknown>;
  expect(
    resolved.status === 200 && adjustment.amount === 1n && adjustment.kind === 'acquirer_difference',
    'the adjustment was not posted',
  );
  say(
    paint(
      'dim',
      '  Dr bank 1, Cr acquirer_costs 1: the merchant is owed what was captured, nothing else moves',
    ),
  );
  const twice = await asOperator(
    'POST',
    `/v1/admin/reconciliation/exceptions/${String(exception!.id)}/resolve`,
    {
      reason: 'again',
      adjustment: 'acquirer_difference',
    },
  );
  answered(twice, ['code']);
  expect(twice.status === 409, 'a resolved exception was resolved again');

  if (run.body.outcome === 'completed') {
    step("The merchant's payout goes to the (simulated) bank");
    const paid = await eventually('the payout', 30_000, async () => {
      const payouts = await call(demo, 'GET', '/v1/payouts?limit=1', undefined, undefined, true);
      const payout = ((payouts.body.data ?? []) as Array<Record<string, unknown>>)[0];
      return payout !== undefined && (payout.status === 'paid' || payout.status === 'failed')
        ? payout
        : undefined;
    });
    say(`  → ${shown(paid)}`);
  }
  const balance = await call(demo, 'GET', '/v1/balance', undefined, undefined, true);
  say(paint('dim', `  merchant balance: ${shown(balance.body.balances)}`));
}

const scenarios: Array<[string, (demo: Demo) => Promise<void>]> = [
  ['Card authorization and capture', authorizeAndCapture],
  ['Partial refund, and a refund that would exceed the capture', partialRefund],
  ['The same request twice with one Idempotency-Key, then a changed body', idempotency],
  ['An acquirer timeout: PENDING, then the janitor', acquirerTimeout],
  ['A signed webhook that fails once and is retried', webhookRetried],
  ['Fraud screening: a card-testing burst blocked, a risky card held for review', fraudScreening],
  [
    'Settlement of the day, and reconciliation with one discrepancy found and adjusted',
    settlementReconciliation,
  ],
];

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1500) });
    return response.ok;
  } catch {
    return false;
  }
}

interface Started {
  api: string;
  dataDir: string;
  child: ChildProcess;
  env: Record<string, string | undefined>;
}

async function startOwn(): Promise<Started> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'payflow-demo-'));
  chmodSync(dataDir, 0o755); // run as root, the embedded PostgreSQL runs as `postgres` and must reach its folder
  const port = await freePort();
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: String(port),
    PAYFLOW_DATA_DIR: dataDir,
    EMBEDDED_PG_PORT: String(await freePort()),
    SIMULATOR_PORT: '0',
    DEMO_MERCHANT: 'true',
    ACQUIRER_TIMEOUT_MS: '1500',
    IDEMPOTENCY_KEY_LOCK_TIMEOUT_MS: '3000',
    PAYMENT_INQUIRY_SCHEDULE: '2s,2s,5s',
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_RETRY_SCHEDULE: '1s,2s,5s',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  };
  say(paint('dim', `No PayFlow answers; starting one on port ${port} (data in ${dataDir}) …`));
  const child = spawn(process.execPath, [path.join(root, 'bin/payflow.js'), 'start'], {
    cwd: root,
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const api = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  while (!(await answers(api))) {
    if (child.exitCode !== null)
      throw new DemoFailure(`PayFlow exited with ${child.exitCode} while starting`);
    if (Date.now() > deadline) throw new DemoFailure('PayFlow did not start within 120 s');
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  return { api, dataDir, child, env };
}

interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

/**
 * The SDK clients for the demo merchant (from the credentials file the first start writes) and, when
 * given, an operator. Both use one fetch that keeps the last answer, which the narration reports.
 */
async function demoFor(
  api: string,
  credentialsFile: string,
  own: boolean,
  operator?: { credentials: ClientCredentials; what: string },
): Promise<Demo> {
  let credentials: ClientCredentials;
  try {
    credentials = JSON.parse(readFileSync(credentialsFile, 'utf8')) as typeof credentials;
  } catch {
    throw new DemoFailure(
      `cannot read ${credentialsFile}: start PayFlow with \`npm start\` (it writes the demo merchant's credentials there) or set PAYFLOW_DATA_DIR`,
    );
  }
  let last: Response | undefined;
  const recordingFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    last = response;
    return response;
  };
  const client = await signedIn(
    new PayFlowClient({ baseUrl: api, ...credentials, fetch: recordingFetch }),
    `the demo merchant's credentials in ${credentialsFile}`,
  );
  const admin =
    operator === undefined
      ? undefined
      : await signedIn(
          new PayFlowClient({ baseUrl: api, ...operator.credentials, fetch: recordingFetch }),
          operator.what,
        );
  return { api, client, last: () => last, own, ...(admin !== undefined && { admin }) };
}

/** The client once it holds a token; refused credentials end the demo with one line. */
async function signedIn(client: PayFlowClient, what: string): Promise<PayFlowClient> {
  try {
    await client.accessToken();
    return client;
  } catch (error) {
    if (!(error instanceof PayFlowError)) throw error;
    throw new DemoFailure(`${what} were refused (${error.status} ${error.code})`);
  }
}

/** An operator client for the demo's own PayFlow, created with the CLI on its database. */
async function ownAdminCredentials(started: Started): Promise<ClientCredentials> {
  const child = spawn(
    process.execPath,
    [path.join(root, 'bin/payflow.js'), 'clients', 'create', '--role', 'admin'],
    { cwd: root, env: started.env, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new DemoFailure(`payflow clients create --role admin exited with ${code}`);
  return JSON.parse(output) as ClientCredentials;
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
}

async function main(): Promise<number> {
  const only = argument('--scenario');
  if (only !== undefined && !(/^[1-9]$/.test(only) && Number(only) <= scenarios.length)) {
    complain(`demo: --scenario takes 1 to ${scenarios.length}`);
    return 2;
  }
  const url = (argument('--url') ?? process.env.API ?? 'http://localhost:8080').replace(/\/$/, '');
  let started: Started | undefined;
  let demo: Demo;
  try {
    if (await answers(url)) {
      const dataDir = process.env.PAYFLOW_DATA_DIR ?? path.join(root, '.payflow');
      say(paint('dim', `Using the PayFlow at ${url} (credentials from ${dataDir}).`));
      const adminId = process.env.DEMO_ADMIN_CLIENT_ID;
      const adminSecret = process.env.DEMO_ADMIN_CLIENT_SECRET;
      demo = await demoFor(
        url,
        path.join(dataDir, 'demo-credentials.json'),
        false,
        adminId !== undefined && adminSecret !== undefined
          ? {
              credentials: { clientId: adminId, clientSecret: adminSecret },
              what: 'DEMO_ADMIN_CLIENT_ID and DEMO_ADMIN_CLIENT_SECRET',
            }
          : undefined,
      );
    } else {
      started = await startOwn();
      demo = await demoFor(started.api, path.join(started.dataDir, 'demo-credentials.json'), true, {
        credentials: await ownAdminCredentials(started),
        what: 'the operator client the demo created',
      });
    }
    for (const [index, [title, play]] of scenarios.entries()) {
      if (only !== undefined && Number(only) !== index + 1) continue;
      say(`\n${paint(['bold', 'underline'], `Scenario ${index + 1}: ${title}`)}`);
      await play(demo);
      say(paint('green', `✓ scenario ${index + 1} behaved as narrated`));
    }
    return 0;
  } catch (error) {
    if (error instanceof DemoFailure) {
      complain(paint('red', `\n✗ ${error.message}`));
      return 1;
    }
    throw error;
  } finally {
    if (started !== undefined) {
      const child = started.child;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(started.dataDir, { recursive: true, force: true });
    }
  }
}

process.exitCode = await main();
