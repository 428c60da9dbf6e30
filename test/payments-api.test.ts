// The payments API end to end: a real PayFlow (in this process) on its own database, the acquirer
// simulator on a free port, tokens from the real vault, merchants and tokens from the real identity.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startTestServer, type TestServer } from './support/server.ts';
import { merchantSession, fetchToken, type MerchantSession } from './support/identity.ts';
import {
  authorizeBody,
  call,
  paymentsEnv,
  startTestAcquirer,
  tokenize,
  waitForPayment,
} from './support/payments.ts';
import type { RunningSimulator } from '../src/simulator/index.ts';

let acquirer: RunningSimulator;
let server: TestServer;
let merchant: MerchantSession;
let url: string;

before(async () => {
  acquirer = await startTestAcquirer();
  server = await startTestServer({ env: paymentsEnv(acquirer.url) });
  merchant = await merchantSession(server);
  url = server.baseUrl;
});
after(async () => {
  await server.close();
  await acquirer.close();
});

async function authorize(number = '4242424242424242', amount = 1000, extra: Record<string, unknown> = {}) {
  const token = await tokenize(url, merchant, number);
  return call(url, merchant, 'POST', '/payments/authorize', authorizeBody(token, amount, extra));
}

async function ledgerSumsToZero(): Promise<void> {
  const rows = await server.database.sql<{ currency: string; total: bigint }[]>`
    select currency, sum(amount)::bigint as total from ledger.postings group by currency`;
  for (const row of rows) assert.equal(row.total, 0n, `postings in ${row.currency} sum to zero`);
}

test('the full life: authorize, partial capture, two refunds, GET with ledger entries', async () => {
  const authorized = await authorize('4242424242424242', 1000, { metadata: { orderId: 'ord_123' } });
  assert.equal(authorized.status, 201, authorized.text);
  assert.equal(authorized.headers.get('content-type'), 'application/json; charset=utf-8');
  const paymentId = authorized.body.paymentId as string;
  assert.match(paymentId, /^pay_[0-9a-z]{26}$/);
  assert.equal(authorized.body.status, 'AUTHORIZED');
  assert.equal(authorized.body.authorizedAmount, 1000);
  assert.equal(authorized.body.currency, 'USD');

  const held = (await call(url, merchant, 'GET', `/payments/${paymentId}`)).body;
  assert.equal(held.ledgerHold, 1000);
  assert.equal(held.ledgerBalance, 0);

  const captured = await call(url, merchant, 'POST', `/payments/${paymentId}/capture`, { amount: 800 });
  assert.equal(captured.status, 200, captured.text);
  assert.equal(captured.body.status, 'CAPTURED');
  assert.equal(captured.body.capturedAmount, 800);
  assert.ok(typeof captured.body.capturedAt === 'string');

  const first = await call(url, merchant, 'POST', `/payments/${paymentId}/refund`, {
    amount: 300,
    reason: 'customer_request',
  });
  assert.equal(first.status, 200, first.text);
  assert.match(first.body.refundId as string, /^ref_/);
  assert.equal(first.body.status, 'REFUNDED');
  assert.equal(first.body.refundedAmount, 300);
  assert.equal(first.body.paymentStatus, 'PARTIALLY_REFUNDED');

  const over = await call(url, merchant, 'POST', `/payments/${paymentId}/refund`, { amount: 501 });
  assert.equal(over.status, 409);
  assert.equal(over.body.code, 'refund_exceeds_captured');

  const rest = await call(url, merchant, 'POST', `/payments/${paymentId}/refund`, {});
  assert.equal(rest.status, 200, rest.text);
  assert.equal(rest.body.refundedAmount, 500);
  assert.equal(rest.body.paymentStatus, 'REFUNDED');

  const payment = await call(url, merchant, 'GET', `/payments/${paymentId}`);
  assert.equal(payment.status, 200);
  assert.equal(payment.body.status, 'REFUNDED');
  assert.equal(payment.body.amount, 1000);
  assert.equal(payment.body.capturedAmount, 800);
  assert.equal(payment.body.refundedAmount, 800);
  assert.equal(payment.body.ledgerBalance, 0, 'captured 800, refunded 800: nothing owed');
  assert.equal(payment.body.ledgerHold, 0, 'the partial capture released the rest of the hold');
  const entries = payment.body.ledgerEntries as { type: string; amount: number; entryId: string }[];
  assert.deepEqual([...new Set(entries.map((entry) => entry.type))], ['AUTH', 'CAPTURE', 'REFUND']);
  assert.equal(
    entries.reduce((sum, entry) => sum + entry.amount, 0),
    0,
    'the entries balance',
  );
  assert.deepEqual((payment.body.metadata as Record<string, unknown>).orderId, 'ord_123');

  const refunds = await call(url, merchant, 'GET', `/payments/${paymentId}/refunds`);
  assert.deepEqual(
    (refunds.body.data as { refundedAmount: number }[]).map((refund) => refund.refundedAmount),
    [300, 500],
  );

  const again = await call(url, merchant, 'POST', `/payments/${paymentId}/refund`, { amount: 1 });
  assert.equal(again.status, 409);
  assert.equal(again.body.code, 'payment_fully_refunded');
  await ledgerSumsToZero();
});

test('capture: true authorizes and captures in one call', async () => {
  const sale = await authorize('5555555555554444', 2500, { capture: true });
  assert.equal(sale.status, 201, sale.text);
  assert.equal(sale.body.status, 'CAPTURED');
  assert.equal(sale.body.capturedAmount, 2500);
  const payment = (await call(url, merchant, 'GET', `/payments/${sale.body.paymentId as string}`)).body;
  assert.equal(payment.ledgerBalance, 2500);
  assert.equal(payment.ledgerHold, 0);
});

test('capture: true with bank_redirect is accepted: 202 REQUIRES_ACTION, captured once the payer approves', async () => {
  const body = {
    amount: 4500,
    currency: 'EUR',
    paymentMethod: { type: 'bank_redirect', returnUrl: 'https://shop.example/done' },
    capture: true,
  };
  const answer = await call(url, merchant, 'POST', '/payments/authorize', body);
  assert.equal(answer.status, 202, answer.text);
  assert.equal(answer.body.status, 'REQUIRES_ACTION');
  assert.match((answer.body.nextAction as { redirectUrl: string }).redirectUrl, /^http/);
  const [stored] = await server.database.sql<{ capture_on_authorize: boolean }[]>`
    select capture_on_authorize from payments.payments where id = ${answer.body.paymentId as string}`;
  assert.equal(stored?.capture_on_authorize, true, 'the capture is remembered for the approval (ADR 17)');
});

test('capture rules: more than authorized is 422, a second capture 409, void after capture 409', async () => {
  const { body } = await authorize();
  const id = body.paymentId as string;
  const tooMuch = await call(url, merchant, 'POST', `/payments/${id}/capture`, { amount: 1001 });
  assert.equal(tooMuch.status, 422);
  assert.equal(tooMuch.body.code, 'capture_exceeds_authorized');
  assert.equal((await call(url, merchant, 'POST', `/payments/${id}/capture`, {})).status, 200);
  const twice = await call(url, merchant, 'POST', `/payments/${id}/capture`, {});
  assert.equal(twice.status, 409);
  assert.equal(twice.body.code, 'already_captured');
  const voided = await call(url, merchant, 'POST', `/payments/${id}/void`, {});
  assert.equal(voided.status, 409);
  assert.equal(voided.body.code, 'already_captured');
});

test('void releases the hold; a voided payment cannot be captured or refunded', async () => {
  const { body } = await authorize();
  const id = body.paymentId as string;
  const voided = await call(url, merchant, 'POST', `/payments/${id}/void`, {});
  assert.equal(voided.status, 200, voided.text);
  assert.equal(voided.body.status, 'VOIDED');
  const payment = (await call(url, merchant, 'GET', `/payments/${id}`)).body;
  assert.equal(payment.ledgerHold, 0);
  assert.deepEqual(
    (payment.ledgerEntries as { type: string }[]).map((entry) => entry.type),
    ['AUTH', 'AUTH', 'VOID', 'VOID'],
  );
  const capture = await call(url, merchant, 'POST', `/payments/${id}/capture`, {});
  assert.equal(capture.status, 409);
  assert.equal(capture.body.code, 'payment_voided');
  const refund = await call(url, merchant, 'POST', `/payments/${id}/refund`, { amount: 10 });
  assert.equal(refund.status, 409);
  assert.equal(refund.body.code, 'payment_voided');
});

test('a refund of an uncaptured payment is refused with payment_not_captured', async () => {
  const { body } = await authorize();
  const refund = await call(url, merchant, 'POST', `/payments/${body.paymentId as string}/refund`, {
    amount: 10,
  });
  assert.equal(refund.status, 409);
  assert.equal(refund.body.code, 'payment_not_captured');
});

const declines: [string, string][] = [
  ['4000000000000002', 'card_declined'],
  ['4000000000009995', 'insufficient_funds'],
  ['4000000000009987', 'lost_card'],
  ['4000000000009979', 'stolen_card'],
  ['4000000000000127', 'incorrect_cvc'],
  ['4000000000000119', 'processing_error'],
];
for (const [number, code] of declines) {
  test(`card ${number} is declined with 422 ${code} and a FAILED payment that can be fetched`, async () => {
    const declined = await authorize(number);
    assert.equal(declined.status, 422, declined.text);
    assert.match(declined.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.equal(declined.body.code, code);
    assert.equal(declined.body.declineCode, code);
    assert.equal(declined.body.status, 422, 'the problem member `status` is the HTTP status');
    assert.equal(declined.body.paymentStatus, 'FAILED');
    const payment = await call(url, merchant, 'GET', `/payments/${declined.body.paymentId as string}`);
    assert.equal(payment.status, 200);
    assert.equal(payment.body.status, 'FAILED');
    assert.equal(payment.body.declineCode, code);
    assert.deepEqual(payment.body.ledgerEntries, []);
  });
}

test('invalid amounts and currencies are 400 problem+json and store nothing', async () => {
  const token = await tokenize(url, merchant);
  const cases: [unknown, unknown, string][] = [
    [1000, 'XYZ', 'invalid_currency'],
    [1000, 'usd', 'invalid_currency'],
    [0, 'USD', 'validation_failed'],
    [-5, 'USD', 'validation_failed'],
    [10.5, 'USD', 'validation_failed'],
    ['1000', 'USD', 'validation_failed'],
    [100_000_000_000, 'USD', 'validation_failed'],
    [Number.MAX_SAFE_INTEGER + 2, 'USD', 'validation_failed'],
  ];
  for (const [amount, currency, code] of cases) {
    const key = randomUUID();
    const body = { amount, currency, paymentMethod: { type: 'card', token } };
    const answer = await call(url, merchant, 'POST', '/payments/authorize', body, key);
    assert.equal(answer.status, 400, `${JSON.stringify(amount)} ${String(currency)}: ${answer.text}`);
    assert.match(answer.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.equal(answer.body.code, code);
    assert.doesNotMatch(answer.text, /at .*\.ts/, 'no stack trace');
    const [stored] = await server.database.sql`
      select count(*)::int as n from payments.idempotency_keys where idempotency_key = ${key}`;
    assert.equal(stored!.n, 0, 'a rejected request stores no key');
  }
  const metadata = Object.fromEntries(Array.from({ length: 21 }, (_, index) => [`k${index}`, 'v']));
  const tooMany = await call(
    url,
    merchant,
    'POST',
    '/payments/authorize',
    authorizeBody(token, 1000, { metadata }),
  );
  assert.equal(tooMany.status, 400);
  // Each value fits the schema (≤ 500 characters) but together they exceed what the database stores.
  const bulkyKey = randomUUID();
  const bulky = Object.fromEntries(Array.from({ length: 20 }, (_, index) => [`k${index}`, 'x'.repeat(500)]));
  const tooBig = await call(
    url,
    merchant,
    'POST',
    '/payments/authorize',
    authorizeBody(token, 1000, { metadata: bulky }),
    bulkyKey,
  );
  assert.equal(tooBig.status, 400, tooBig.text);
  assert.equal(tooBig.body.code, 'invalid_metadata');
  const [bulkyStored] = await server.database.sql`
    select count(*)::int as n from payments.idempotency_keys where idempotency_key = ${bulkyKey}`;
  assert.equal(bulkyStored!.n, 0, 'oversized metadata stores no key');
  const [bulkyPayments] = await server.database.sql`
    select count(*)::int as n from payments.payments where metadata ? 'k19'`;
  assert.equal(bulkyPayments!.n, 0, 'and no payment');
  const unknownToken = await call(
    url,
    merchant,
    'POST',
    '/payments/authorize',
    authorizeBody(`tok_${'0'.repeat(26)}`),
  );
  assert.equal(unknownToken.status, 422);
  assert.equal(unknownToken.body.code, 'token_not_found');
});

test('idempotency: key required, replay byte for byte, reuse with another body 409', async () => {
  const token = await tokenize(url, merchant);
  const missing = await call(url, merchant, 'POST', '/payments/authorize', authorizeBody(token), null);
  assert.equal(missing.status, 400);
  assert.equal(missing.body.code, 'idempotency_key_required');
  const tooLong = await call(
    url,
    merchant,
    'POST',
    '/payments/authorize',
    authorizeBody(token),
    'k'.repeat(256),
  );
  assert.equal(tooLong.status, 400);

  const key = randomUUID();
  const first = await call(url, merchant, 'POST', '/payments/authorize', authorizeBody(token, 4200), key);
  assert.equal(first.status, 201);
  assert.equal(first.headers.get('idempotent-replayed'), null);
  const replay = await call(url, merchant, 'POST', '/payments/authorize', authorizeBody(token, 4200), key);
  assert.equal(replay.status, 201);
  assert.equal(replay.text, first.text, 'the stored body, byte for byte');
  assert.equal(replay.headers.get('idempotent-replayed'), 'true');

  const reused = await call(url, merchant, 'POST', '/payments/authorize', authorizeBody(token, 4300), key);
  assert.equal(reused.status, 409);
  assert.equal(reused.body.code, 'idempotency_key_reused');
  const otherEndpoint = await call(
    url,
    merchant,
    'POST',
    `/payments/${first.body.paymentId as string}/capture`,
    {},
    key,
  );
  assert.equal(otherEndpoint.status, 409);
  assert.equal(otherEndpoint.body.code, 'idempotency_key_reused');

  const [count] = await server.database.sql`
    select count(*)::int as n from payments.payments where merchant_id = ${merchant.merchantId} and amount = 4200`;
  assert.equal(count!.n, 1);

  const declineKey = randomUUID();
  const declinedToken = await tokenize(url, merchant, '4000000000009995');
  const declined = await call(
    url,
    merchant,
    'POST',
    '/payments/authorize',
    authorizeBody(declinedToken),
    declineKey,
  );
  const declinedReplay = await call(
    url,
    merchant,
    'POST',
    '/payments/authorize',
    authorizeBody(declinedToken),
    declineKey,
  );
  assert.equal(declinedReplay.status, 422);
  assert.equal(declinedReplay.text, declined.text, 'a decline is replayed too');

  const other = await merchantSession(server);
  const sameKeyOtherMerchant = await call(
    url,
    other,
    'POST',
    '/payments/authorize',
    authorizeBody(await tokenize(url, other), 4200),
    key,
  );
  assert.equal(sameKeyOtherMerchant.status, 201, 'keys are scoped per merchant');
});

test('another merchant gets 404 for my payment; scopes are enforced', async () => {
  const { body } = await authorize();
  const id = body.paymentId as string;
  const other = await merchantSession(server);
  for (const [method, path] of [
    ['GET', `/payments/${id}`],
    ['GET', `/payments/${id}/refunds`],
    ['POST', `/payments/${id}/capture`],
    ['POST', `/payments/${id}/refund`],
    ['POST', `/payments/${id}/void`],
  ] as const) {
    const answer = await call(url, other, method, path, {});
    assert.equal(answer.status, 404, `${method} ${path}`);
    assert.equal(answer.body.code, 'payment_not_found');
  }
  const readOnly = await fetchToken(url, merchant.clientId, merchant.clientSecret, 'payments:read');
  const refused = await fetch(`${url}/payments/${id}/capture`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${readOnly}`,
      'content-type': 'application/json',
      'idempotency-key': randomUUID(),
    },
    body: '{}',
  });
  assert.equal(refused.status, 403);
  const anonymous = await fetch(`${url}/payments/${id}`);
  assert.equal(anonymous.status, 401);
});

test('GET /payments filters by status and time and pages with a cursor', async () => {
  const lister = await merchantSession(server);
  const token = async () => tokenize(url, lister);
  const ids: string[] = [];
  for (let index = 0; index < 5; index += 1) {
    const answer = await call(
      url,
      lister,
      'POST',
      '/payments/authorize',
      authorizeBody(await token(), 100 + index),
    );
    ids.push(answer.body.paymentId as string);
  }
  const declined = await call(
    url,
    lister,
    'POST',
    '/payments/authorize',
    authorizeBody(await tokenize(url, lister, '4000000000000002')),
  );
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const query: string = `/payments?status=AUTHORIZED&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
    const page = await call(url, lister, 'GET', query);
    assert.equal(page.status, 200, page.text);
    const data = page.body.data as { paymentId: string; status: string }[];
    assert.ok(data.length <= 2);
    for (const item of data) assert.equal(item.status, 'AUTHORIZED');
    seen.push(...data.map((item) => item.paymentId));
    cursor = page.body.nextCursor as string | null;
  } while (cursor);
  assert.deepEqual(seen, [...ids].reverse(), 'newest first, every payment once');
  const failed = await call(url, lister, 'GET', '/payments?status=FAILED');
  assert.deepEqual(
    (failed.body.data as { paymentId: string }[]).map((item) => item.paymentId),
    [declined.body.paymentId],
  );
  const future = await call(
    url,
    lister,
    'GET',
    `/payments?createdFrom=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`,
  );
  assert.deepEqual(future.body.data, []);
  assert.equal((await call(url, lister, 'GET', '/payments?limit=101')).status, 400);
  assert.equal((await call(url, lister, 'GET', '/payments?cursor=garbage')).status, 400);
});

test('a card whose authorization times out after approval: 202 PENDING, then the janitor authorizes it', async () => {
  const key = randomUUID();
  const token = await tokenize(url, merchant, '4000000000003220');
  const pending = await call(url, merchant, 'POST', '/payments/authorize', authorizeBody(token, 777), key);
  assert.equal(pending.status, 202, pending.text);
  assert.equal(pending.body.status, 'PENDING');
  const id = pending.body.paymentId as string;
  const done = await waitForPayment(url, merchant, id, (payment) => payment.status !== 'PENDING');
  assert.equal(done.status, 'AUTHORIZED', 'never FAILED on a timeout');
  assert.equal(done.ledgerHold, 777);
  const retry = await call(url, merchant, 'POST', '/payments/authorize', authorizeBody(token, 777), key);
  assert.equal(retry.status, 201, 'the key now holds the final answer');
  assert.equal(retry.body.paymentId, id);
  const [reference] = await server.database.sql<{ processor_reference: string }[]>`
    select processor_reference from payments.payments where id = ${id}`;
  const inquiry = await fetch(
    `${acquirer.url}/v1/operations/${encodeURIComponent(reference!.processor_reference)}`,
  );
  assert.equal(
    ((await inquiry.json()) as { status: string }).status,
    'approved',
    'one reference at the acquirer',
  );
});

test('client retries during an acquirer outage leave the janitor schedule alone; the janitor still finishes', async () => {
  const key = randomUUID();
  const token = await tokenize(url, merchant);
  const body = authorizeBody(token, 654);
  acquirer.configureFaults({ failureRate: 1 });
  try {
    const pending = await call(url, merchant, 'POST', '/payments/authorize', body, key);
    assert.equal(pending.status, 202, pending.text);
    assert.equal(pending.body.status, 'PENDING');
    // Keep the janitor away while the client retries: only the retries touch the key now.
    await server.database.sql`
      update payments.idempotency_keys set next_attempt_at = now() + interval '1 hour'
      where idempotency_key = ${key}`;
    const [before] = await server.database.sql<{ attempts: number; next_attempt_at: Date }[]>`
      select attempts, next_attempt_at from payments.idempotency_keys where idempotency_key = ${key}`;
    for (let retry = 0; retry < 4; retry += 1) {
      const again = await call(url, merchant, 'POST', '/payments/authorize', body, key);
      assert.equal(again.status, 202, `retry ${retry}: ${again.text}`);
      assert.equal(again.body.status, 'PENDING');
    }
    const [afterRetries] = await server.database.sql<
      { attempts: number; next_attempt_at: Date; locked_at: Date | null }[]
    >`select attempts, next_attempt_at, locked_at from payments.idempotency_keys where idempotency_key = ${key}`;
    assert.equal(afterRetries?.attempts, before?.attempts, 'client retries are not janitor attempts');
    assert.deepEqual(afterRetries?.next_attempt_at, before?.next_attempt_at, 'the schedule is not pushed');
    assert.equal(afterRetries?.locked_at, null, 'each retry unlocks the key');
  } finally {
    acquirer.configureFaults({ failureRate: 0 });
  }
  await server.database.sql`
    update payments.idempotency_keys set next_attempt_at = now() where idempotency_key = ${key}`;
  const [row] = await server.database.sql<{ resource_id: string }[]>`
    select resource_id from payments.idempotency_keys where idempotency_key = ${key}`;
  const done = await waitForPayment(
    url,
    merchant,
    row!.resource_id,
    (payment) => payment.status !== 'PENDING',
  );
  assert.equal(done.status, 'AUTHORIZED');
  const final = await call(url, merchant, 'POST', '/payments/authorize', body, key);
  assert.equal(final.status, 201, 'the janitor finished the key');
});

test('a card whose authorization times out before the acquirer decides: the janitor finishes it', async () => {
  const pending = await authorize('4000000000003238', 555);
  assert.equal(pending.status, 202, pending.text);
  const done = await waitForPayment(
    url,
    merchant,
    pending.body.paymentId as string,
    (payment) => payment.status !== 'PENDING',
  );
  assert.equal(done.status, 'AUTHORIZED');
});

test('wallet payments go through the wallet strategy; a token of another kind is 422 token_method_mismatch', async () => {
  const tokenized = await fetch(`${url}/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${merchant.publishableToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      wallet: {
        type: 'apple_pay',
        networkToken: '4242424242424242',
        cryptogram: Buffer.alloc(20, 9).toString('base64'),
        expMonth: 12,
        expYear: 2034,
      },
    }),
  });
  assert.equal(tokenized.status, 201);
  const walletToken = ((await tokenized.json()) as { token: string }).token;
  const body = { amount: 1500, currency: 'EUR', paymentMethod: { type: 'wallet', token: walletToken } };
  const paid = await call(url, merchant, 'POST', '/payments/authorize', body);
  assert.equal(paid.status, 201, paid.text);
  assert.equal(paid.body.status, 'AUTHORIZED');
  const mismatch = await call(url, merchant, 'POST', '/payments/authorize', {
    ...body,
    paymentMethod: { type: 'card', token: walletToken },
  });
  assert.equal(mismatch.status, 422);
  assert.equal(mismatch.body.code, 'token_method_mismatch');
});

test('no response, stored answer or payment row carries the card number', async () => {
  const answer = await authorize('5555555555554444', 1700);
  const payment = await call(url, merchant, 'GET', `/payments/${answer.body.paymentId as string}`);
  assert.doesNotMatch(answer.text + payment.text, /5555555555554444/);
  const rows = await server.database.sql<{ row: string }[]>`
    select row_to_json(p)::text as row from payments.payments p
    union all select row_to_json(k)::text from payments.idempotency_keys k`;
  for (const row of rows) assert.doesNotMatch(row.row, /5555555555554444|4242424242424242/);
});

test('a refund the acquirer accepts as pending and fails later: 202, then FAILED, and the amount is refundable again', async () => {
  const sale = await authorize('4000000000005126', 2000, { capture: true });
  assert.equal(sale.status, 201, sale.text);
  const paymentId = sale.body.paymentId as string;
  const refund = await call(url, merchant, 'POST', `/payments/${paymentId}/refund`, { amount: 2000 });
  assert.equal(refund.status, 202, refund.text);
  assert.equal(refund.body.status, 'PENDING');
  let refunds: { status: string }[] = [];
  for (let attempt = 0; attempt < 200; attempt += 1) {
    refunds = (await call(url, merchant, 'GET', `/payments/${paymentId}/refunds`)).body.data as {
      status: string;
    }[];
    if (refunds[0]?.status !== 'PENDING') break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(refunds[0]?.status, 'FAILED');
  const payment = (await call(url, merchant, 'GET', `/payments/${paymentId}`)).body;
  assert.equal(payment.status, 'CAPTURED');
  assert.equal(payment.refundedAmount, 0);
  assert.equal(payment.ledgerBalance, 2000, 'a failed refund posts nothing');
  const [row] = await server.database.sql<{ refunding_amount: bigint }[]>`
    select refunding_amount from payments.payments where id = ${paymentId}`;
  assert.equal(row!.refunding_amount, 0n, 'the reservation is released');
});

test('receiptEmail and receiptPhone: stored, returned on the payment, only flagged in payment.captured.v1 (no personal data in events); malformed ones are 400', async () => {
  const receipt = { receiptEmail: 'payer@example.com', receiptPhone: '+447700900123', capture: true };
  const sale = await authorize('4242424242424242', 1250, receipt);
  assert.equal(sale.status, 201, sale.text);
  const paymentId = sale.body.paymentId as string;
  const payment = (await call(url, merchant, 'GET', `/payments/${paymentId}`)).body;
  assert.equal(payment.receiptEmail, 'payer@example.com');
  assert.equal(payment.receiptPhone, '+447700900123');
  const events = await server.database.sql<{ type: string; payload: Record<string, unknown> }[]>`
    select type, payload from events.outbox where aggregate_id = ${paymentId} order by staged_sequence`;
  const captured = events.find((event) => event.type === 'payment.captured.v1');
  assert.ok(captured, JSON.stringify(events.map((event) => event.type)));
  // Which receipts, never the address or number: events (and webhooks) carry no personal data.
  assert.deepEqual(captured.payload.receipt, { email: true, sms: true });
  assert.doesNotMatch(JSON.stringify(events), /payer@example\.com|447700900123/);
  assert.equal(captured.payload.capturedAmount, 1250);
  assert.doesNotMatch(JSON.stringify(events), /4242424242424242/, 'no card number in any event');

  const plain = await authorize();
  const plainPayment = (await call(url, merchant, 'GET', `/payments/${plain.body.paymentId as string}`)).body;
  assert.equal('receiptEmail' in plainPayment, false);
  assert.equal('receiptPhone' in plainPayment, false);

  const token = await tokenize(url, merchant);
  for (const extra of [
    { receiptEmail: 'not-an-address' },
    { receiptEmail: 'payer@example.com\r\nBcc: someone@evil.test' },
    { receiptEmail: `${'x'.repeat(250)}@example.com` },
    { receiptPhone: '07700 900123' },
    { receiptPhone: '+0447700900123' },
  ]) {
    const key = randomUUID();
    const answer = await call(
      url,
      merchant,
      'POST',
      '/payments/authorize',
      authorizeBody(token, 1000, extra),
      key,
    );
    assert.equal(answer.status, 400, `${JSON.stringify(extra)}: ${answer.text}`);
    assert.match(answer.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.equal(answer.body.code, 'validation_failed');
    const [stored] = await server.database.sql`
      select count(*)::int as n from payments.idempotency_keys where idempotency_key = ${key}`;
    assert.equal(stored!.n, 0, 'a rejected request stores no key');
  }
});
