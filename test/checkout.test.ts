// Hosted checkout (ADR 24) against real PostgreSQL, through the API as a merchant and a payer's page
// use it: a session is created, a declined card leaves it payable, another card pays it once (one
// captured payment, one checkout.session.completed.v1 staged with it), the paying card again gets
// the same answer, any other card is refused, two cards at once pay once, an expired session
// refuses, and the page is served with a strict CSP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningSimulator } from '../src/simulator/index.ts';
import { merchantSession, type MerchantSession } from './support/identity.ts';
import { assertLedgerVerifies, call, paymentsEnv, startTestAcquirer } from './support/payments.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const declinedCard = '4000000000000002';
const insufficientFundsCard = '4000000000009995';
const approvedCard = '4242424242424242';
const otherApprovedCard = '5555555555554444';

let server: TestServer;
let acquirer: RunningSimulator;
let merchant: MerchantSession;

before(async () => {
  acquirer = await startTestAcquirer();
  server = await startTestServer({ env: paymentsEnv(acquirer.url) });
  merchant = await merchantSession(server, 'Checkout Coffee Ltd');
});
after(async () => {
  await server?.close();
  await acquirer?.close();
});

function sessionBody(extra: Record<string, unknown> = {}) {
  return {
    amount: 2599,
    currency: 'USD',
    description: 'Two bags of coffee',
    successUrl: 'https://shop.example/thanks?order=42',
    cancelUrl: 'https://shop.example/cart',
    ...extra,
  };
}

async function createSession(extra: Record<string, unknown> = {}) {
  const answer = await call(server.baseUrl, merchant, 'POST', '/checkout/sessions', sessionBody(extra));
  assert.equal(answer.status, 201, answer.text);
  return answer.body as { id: string; url: string; status: string };
}

/** What the payer's browser does: a publishable-key token, then POST /tokens with the card. */
async function tokenizeAsPayer(number: string): Promise<string> {
  const payer = await publicJson('GET', `/checkout/sessions/${await anyOpenSessionId()}/payer`);
  const grant = await fetch(`${server.baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: String(payer.body['publishableKey']),
    }),
  });
  const { access_token: accessToken } = (await grant.json()) as { access_token: string };
  const response = await fetch(`${server.baseUrl}/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ card: { number, expMonth: 12, expYear: 2034, cvc: '123' } }),
  });
  const body = (await response.json()) as { token: string };
  assert.equal(response.status, 201, JSON.stringify(body));
  return body.token;
}

let openSessionId: string | undefined;
async function anyOpenSessionId(): Promise<string> {
  openSessionId ??= (await createSession()).id;
  return openSessionId;
}

async function publicJson(method: 'GET' | 'POST', path: string, body?: unknown) {
  const response = await fetch(`${server.baseUrl}${path}`, {
    method,
    ...(body !== undefined && {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: JSON.parse(text) as Record<string, unknown>,
  };
}

const pay = (sessionId: string, token: string) =>
  publicJson('POST', `/checkout/sessions/${sessionId}/pay`, { token });

async function completedEvents(sessionId: string) {
  return server.database.sql<{ payload: Record<string, unknown> }[]>`
    select payload from events.outbox
    where type = 'checkout.session.completed.v1' and aggregate_id = ${sessionId}`;
}

async function paymentsOf(sessionId: string) {
  return server.database.sql<{ id: string; status: string; amount: bigint }[]>`
    select id, status, amount from payments.payments where metadata ->> 'checkoutSessionId' = ${sessionId}`;
}

test('a merchant creates a session; the payer page sees the amount, merchant and publishable key, never the payment', async () => {
  const created = await createSession();
  assert.match(created.id, /^cs_[0-9a-hjkmnp-tv-z]{26}$/);
  assert.equal(created.url, `${server.baseUrl}/checkout/${created.id}`);
  assert.equal(created.status, 'open');
  const read = await call(server.baseUrl, merchant, 'GET', `/checkout/sessions/${created.id}`);
  assert.equal(read.status, 200, read.text);
  assert.equal(read.body['amount'], 2599);
  assert.equal(read.body['capture'], true);
  const payer = await publicJson('GET', `/checkout/sessions/${created.id}/payer`);
  assert.equal(payer.status, 200);
  assert.equal(payer.body['merchantName'], 'Checkout Coffee Ltd');
  assert.equal(payer.body['amount'], 2599);
  assert.equal(payer.body['currency'], 'USD');
  assert.equal(payer.body['publishableKey'], merchant.publishableKey);
  assert.equal(payer.body['paymentId'], undefined);
});

test('a declined card leaves the session payable; another card pays it once, with its event in the outbox', async () => {
  const session = await createSession();
  const declined = await pay(session.id, await tokenizeAsPayer(declinedCard));
  assert.equal(declined.status, 422, JSON.stringify(declined.body));
  assert.equal(declined.body['code'], 'payment_declined');
  assert.equal(declined.body['declineCode'], 'card_declined');
  const poor = await pay(session.id, await tokenizeAsPayer(insufficientFundsCard));
  assert.equal(poor.body['declineCode'], 'insufficient_funds');
  assert.equal((await publicJson('GET', `/checkout/sessions/${session.id}/payer`)).body['status'], 'open');

  const goodToken = await tokenizeAsPayer(approvedCard);
  const paid = await pay(session.id, goodToken);
  assert.equal(paid.status, 200, JSON.stringify(paid.body));
  assert.equal(paid.body['status'], 'completed');
  assert.equal(paid.body['redirectUrl'], `https://shop.example/thanks?order=42&session_id=${session.id}`);
  const paymentId = paid.body['paymentId'] as string;

  const read = await call(server.baseUrl, merchant, 'GET', `/checkout/sessions/${session.id}`);
  assert.equal(read.body['status'], 'completed');
  assert.equal(read.body['paymentId'], paymentId);
  const payment = await call(server.baseUrl, merchant, 'GET', `/payments/${paymentId}`);
  assert.equal(payment.body['status'], 'CAPTURED');
  assert.equal(payment.body['amount'], 2599);
  // The payer's IP went to the fraud screening with the authorization.
  const [assessment] = await server.database.sql<{ ip: string | null }[]>`
    select signals ->> 'ip_address' as ip from fraud.assessments where payment_id = ${paymentId}`;
  assert.equal(assessment?.ip, '127.0.0.1');

  // The paying card again (a double click): the same answer, nothing new.
  const again = await pay(session.id, goodToken);
  assert.equal(again.status, 200);
  assert.equal(again.body['paymentId'], paymentId);
  // Any other card: refused before payments is asked.
  const other = await pay(session.id, await tokenizeAsPayer(otherApprovedCard));
  assert.equal(other.status, 409);
  assert.equal(other.body['code'], 'checkout_session_completed');

  const payments = await paymentsOf(session.id);
  assert.deepEqual(
    payments.map((row) => row.status).sort(),
    ['CAPTURED', 'FAILED', 'FAILED'],
    'two declines and one capture, no second charge',
  );
  const events = await completedEvents(session.id);
  assert.equal(events.length, 1);
  assert.equal(events[0]!.payload['paymentId'], paymentId);
  assert.equal(events[0]!.payload['amount'], 2599);
  assert.equal(events[0]!.payload['currency'], 'USD');
});

test('capture: false leaves the payment authorized', async () => {
  const session = await createSession({ capture: false, amount: 1200, currency: 'JPY' });
  const paid = await pay(session.id, await tokenizeAsPayer(approvedCard));
  assert.equal(paid.status, 200, JSON.stringify(paid.body));
  const payment = await call(
    server.baseUrl,
    merchant,
    'GET',
    `/payments/${paid.body['paymentId'] as string}`,
  );
  assert.equal(payment.body['status'], 'AUTHORIZED');
  assert.equal(payment.body['currency'], 'JPY');
});

test('two cards at once pay a session once', async () => {
  const session = await createSession();
  const tokens = await Promise.all([tokenizeAsPayer(approvedCard), tokenizeAsPayer(otherApprovedCard)]);
  const answers = await Promise.all(tokens.map((token) => pay(session.id, token)));
  // Each answer is a success, "still processing" (the page asks again with the same card) or a 409.
  for (const answer of answers) {
    const known =
      answer.status === 200 ||
      (answer.status === 202 && answer.body['status'] === 'processing') ||
      (answer.status === 409 &&
        ['checkout_payment_in_progress', 'checkout_session_completed'].includes(
          answer.body['code'] as string,
        ));
    assert.ok(known, JSON.stringify(answer.body));
  }
  // Asked again as the page does: exactly one card has paid, the other is refused.
  const settled = await Promise.all(tokens.map((token) => pay(session.id, token)));
  assert.deepEqual(
    settled.map((answer) => answer.status).sort(),
    [200, 409],
    JSON.stringify(settled.map((answer) => answer.body)),
  );
  const charged = (await paymentsOf(session.id)).filter((row) => row.status !== 'FAILED');
  assert.equal(charged.length, 1, 'exactly one payment was made');
  assert.equal((await completedEvents(session.id)).length, 1);
});

/** As if a pay request had claimed the session with `token` and died before it heard the answer. */
async function leaveAttemptInFlight(sessionId: string, token: string) {
  await server.database.sql`
    update checkout.sessions
    set attempt_key = ${`checkout:${sessionId}:${token}`}, attempt_token = ${token}, attempt_started_at = now(),
        attempts = attempts + 1
    where id = ${sessionId}`;
}

test('an attempt whose outcome was never heard is resolved before another card: approved means no second charge', async () => {
  const session = await createSession();
  const lostToken = await tokenizeAsPayer(approvedCard);
  await leaveAttemptInFlight(session.id, lostToken);
  const other = await pay(session.id, await tokenizeAsPayer(otherApprovedCard));
  assert.equal(other.status, 409, JSON.stringify(other.body));
  assert.equal(other.body['code'], 'checkout_session_completed');
  const read = await call(server.baseUrl, merchant, 'GET', `/checkout/sessions/${session.id}`);
  assert.equal(read.body['status'], 'completed');
  const payments = await paymentsOf(session.id);
  assert.equal(payments.length, 1, 'only the first card was charged');
  assert.equal(read.body['paymentId'], payments[0]!.id);
  // The card whose answer was lost, sent again, gets its success.
  const again = await pay(session.id, lostToken);
  assert.equal(again.status, 200);
  assert.equal(again.body['paymentId'], payments[0]!.id);
  assert.equal((await completedEvents(session.id)).length, 1);
});

test('an attempt whose outcome was never heard is resolved before another card: declined frees the session', async () => {
  const session = await createSession();
  await leaveAttemptInFlight(session.id, await tokenizeAsPayer(declinedCard));
  const paid = await pay(session.id, await tokenizeAsPayer(approvedCard));
  assert.equal(paid.status, 200, JSON.stringify(paid.body));
  assert.deepEqual((await paymentsOf(session.id)).map((row) => row.status).sort(), ['CAPTURED', 'FAILED']);
});

test('an expired session refuses to be paid', async () => {
  const session = await createSession({ expiresInSeconds: 60 });
  await server.database.sql`
    update checkout.sessions set created_at = now() - interval '2 minutes', expires_at = now() - interval '1 second'
    where id = ${session.id}`;
  const payer = await publicJson('GET', `/checkout/sessions/${session.id}/payer`);
  assert.equal(payer.body['status'], 'expired');
  assert.equal(payer.body['publishableKey'], undefined);
  const answer = await pay(session.id, await tokenizeAsPayer(approvedCard));
  assert.equal(answer.status, 410);
  assert.equal(answer.body['code'], 'checkout_session_expired');
  assert.equal((await paymentsOf(session.id)).length, 0);
});

test('sessions are the merchant’s own, and bad input is refused with a code', async () => {
  const session = await createSession();
  const stranger = await merchantSession(server);
  const foreign = await call(server.baseUrl, stranger, 'GET', `/checkout/sessions/${session.id}`);
  assert.equal(foreign.status, 404);
  assert.equal(foreign.body['code'], 'checkout_session_not_found');
  // A token of another merchant cannot pay this merchant's session.
  const strangerToken = await (async () => {
    const response = await fetch(`${server.baseUrl}/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stranger.publishableToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ card: { number: approvedCard, expMonth: 12, expYear: 2034, cvc: '123' } }),
    });
    return ((await response.json()) as { token: string }).token;
  })();
  const crossed = await pay(session.id, strangerToken);
  assert.equal(crossed.status >= 400 && crossed.status < 500, true, JSON.stringify(crossed.body));
  assert.equal((await publicJson('GET', `/checkout/sessions/${session.id}/payer`)).body['status'], 'open');

  const cases: [Record<string, unknown>, number, string][] = [
    [{ successUrl: 'javascript:alert(1)' }, 400, 'validation_failed'],
    [{ currency: 'usd' }, 400, 'invalid_currency'],
    [{ amount: 0 }, 400, 'validation_failed'],
    [{ expiresInSeconds: 10 }, 400, 'validation_failed'],
    [{ description: '   ' }, 400, 'invalid_description'],
  ];
  for (const [extra, status, code] of cases) {
    const answer = await call(server.baseUrl, merchant, 'POST', '/checkout/sessions', sessionBody(extra));
    assert.equal(answer.status, status, `${JSON.stringify(extra)}: ${answer.text}`);
    assert.equal(answer.body['code'], code, `${JSON.stringify(extra)}: ${answer.text}`);
  }
  const unauthenticated = await publicJson('POST', '/checkout/sessions', sessionBody());
  assert.equal(unauthenticated.status, 401);
  const unknown = await publicJson('GET', '/checkout/sessions/cs_00000000000000000000000000/payer');
  assert.equal(unknown.status, 404);
});

test('the checkout page is served by the API process with a strict CSP', async () => {
  const session = await createSession();
  const response = await fetch(`${server.baseUrl}/checkout/${session.id}`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
  const csp = response.headers.get('content-security-policy') ?? '';
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(response.headers.get('referrer-policy'), 'no-referrer');
  const html = await response.text();
  const script = /<script type="module" crossorigin src="([^"]+)"/.exec(html)?.[1];
  assert.ok(script, html);
  assert.doesNotMatch(html, /<script>(?!<\/script>)/, 'no inline script');
  const asset = await fetch(`${server.baseUrl}${script}`);
  assert.equal(asset.status, 200);
  assert.match(asset.headers.get('content-type') ?? '', /javascript/);
  assert.match(asset.headers.get('cache-control') ?? '', /immutable/);
});

test('the ledger verifies after the checkouts', async () => {
  await assertLedgerVerifies(server.database.url);
});
