// Settlement and payouts (ADR 19) against real PostgreSQL, through the API as a merchant and an
// operator use them: a day of payments settles to the exact cent with fees, the merchant is paid
// out through the (simulated) bank, a payout the bank refuses returns the money, a second run of a
// day changes nothing, two runs at once settle once, and payments after a day's cutoff wait.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningSimulator } from '../src/simulator/index.ts';
// eslint-disable-next-line payflow/module-boundaries
import { captureFee } from '../src/modules/settlement/domain/pricing.ts';
import { adminToken, merchantSession, type MerchantSession } from './support/identity.ts';
import {
  assertLedgerVerifies,
  authorizeBody,
  call,
  paymentsEnv,
  startTestAcquirer,
  tokenize,
} from './support/payments.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { openApiAnswers } from './support/openapi.ts';

let server: TestServer;
let acquirer: RunningSimulator;
let admin: string;

before(async () => {
  acquirer = await startTestAcquirer();
  server = await startTestServer({ env: paymentsEnv(acquirer.url, { EVENTS_POLL_INTERVAL_MS: '50' }) });
  admin = await adminToken(server);
});
after(async () => {
  await server.close();
  await acquirer.close();
});

const today = () => new Date().toISOString().slice(0, 10);
const yesterday = () => new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);

async function settle(date: string) {
  const response = await fetch(`${server.baseUrl}/v1/admin/settlement/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ date }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function sale(merchant: MerchantSession, amount: number, extra: Record<string, unknown> = {}) {
  const token = await tokenize(server.baseUrl, merchant);
  const answer = await call(
    server.baseUrl,
    merchant,
    'POST',
    '/payments/authorize',
    authorizeBody(token, amount, extra),
  );
  assert.equal(answer.status, 201, answer.text);
  return answer.body['paymentId'] as string;
}

async function waitForItems(merchantId: string, count: number) {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const [row] = await server.database.sql<{ n: bigint }[]>`
      select count(*)::bigint as n from settlement.items where merchant_id = ${merchantId}`;
    if (Number(row!.n) >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`settlement never saw ${count} captures and refunds of ${merchantId}`);
}

async function balance(merchant: MerchantSession) {
  const answer = await call(server.baseUrl, merchant, 'GET', '/balance');
  return (answer.body['balances'] as Record<string, unknown>[]).find((item) => item['currency'] === 'USD');
}

async function waitForPayout(merchant: MerchantSession, done: (payout: Record<string, unknown>) => boolean) {
  let last: Record<string, unknown>[] = [];
  for (let attempt = 0; attempt < 200; attempt += 1) {
    last = (await call(server.baseUrl, merchant, 'GET', '/payouts')).body['data'] as Record<
      string,
      unknown
    >[];
    if (last.length > 0 && done(last[0]!)) return last[0]!;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`payout never got there: ${JSON.stringify(last)}`);
}

test('a day of payments settles to the exact cent with fees, and the merchant is paid out once', async () => {
  const merchant = await merchantSession(server, 'Settling shop');
  await sale(merchant, 10_000, { capture: true }); // captured in full
  const partial = await sale(merchant, 5_000);
  const captured = await call(server.baseUrl, merchant, 'POST', `/payments/${partial}/capture`, {
    amount: 3_000,
  });
  assert.equal(captured.status, 200, captured.text);
  const refunded = await sale(merchant, 2_000, { capture: true });
  const refund = await call(server.baseUrl, merchant, 'POST', `/payments/${refunded}/refund`, {
    amount: 500,
  });
  assert.equal(refund.status, 200, refund.text);
  const voided = await sale(merchant, 4_000);
  assert.equal((await call(server.baseUrl, merchant, 'POST', `/payments/${voided}/void`, {})).status, 200);
  await waitForItems(merchant.merchantId, 4);
  assert.deepEqual(await balance(merchant), {
    currency: 'USD',
    pending: '14500',
    available: '0',
    inTransit: '0',
    authorized: '0',
  });

  // Yesterday's cutoff is before every one of these payments: nothing of this merchant settles.
  const early = await settle(yesterday());
  assert.equal(early.status, 200, JSON.stringify(early.body));
  assert.equal((await balance(merchant))?.['pending'], '14500');

  const run = await settle(today());
  assert.equal(run.status, 200, JSON.stringify(run.body));
  assert.equal(run.body['outcome'], 'completed');
  // Default price: 2.9 % + 0.30 USD per capture, rounded half up; refunds cost nothing.
  const fees = 290n + 30n + (87n + 30n) + (58n + 30n);
  assert.equal(fees, captureFee({ percentBps: 290, fixedFees: { USD: 30n } }, 'USD', 10_000n) + 117n + 88n);
  const net = 15_000 - 500 - Number(fees);
  const batches = (await call(server.baseUrl, merchant, 'GET', '/settlements')).body['data'] as Record<
    string,
    unknown
  >[];
  assert.equal(batches.length, 1);
  assert.deepEqual(
    {
      gross: batches[0]!['gross'],
      refunds: batches[0]!['refunds'],
      fees: batches[0]!['fees'],
      net: batches[0]!['net'],
    },
    // Sums, so decimal strings (ADR 27).
    { gross: '15000', refunds: '500', fees: String(fees), net: String(net) },
  );
  const batch = (await call(server.baseUrl, merchant, 'GET', `/settlements/${batches[0]!['id'] as string}`))
    .body;
  assert.equal((batch['lines'] as unknown[]).length, 4);
  const csv = await fetch(`${server.baseUrl}/settlements/${batches[0]!['id'] as string}/lines.csv`, {
    headers: { authorization: `Bearer ${merchant.token}` },
  });
  assert.match(csv.headers.get('content-type') ?? '', /text\/csv/);
  const csvLines = (await csv.text()).trim().split('\n');
  assert.equal(csvLines[0], 'payment_id,type,amount,fee,currency,occurred_at');
  assert.equal(csvLines.length, 5);

  // The whole net goes out as one payout; the bank confirms it.
  const paid = await waitForPayout(merchant, (payout) => payout['status'] === 'paid');
  assert.equal(paid['amount'], String(net));

  // Every answer above matches what /openapi.json documents for it (sums as strings, ADR 27), read by
  // an OpenAPI validator independent of the code that writes the document.
  const openapi = await openApiAnswers(server.baseUrl);
  try {
    for (const [template, path] of [
      ['/settlements', '/settlements'],
      ['/settlements/{id}', `/settlements/${batches[0]!['id'] as string}`],
      ['/payouts', '/payouts'],
      ['/payouts/{id}', `/payouts/${paid['id'] as string}`],
      ['/balance', '/balance'],
      ['/payments/volume', '/payments/volume?days=2'],
    ] as const) {
      const answer = await call(server.baseUrl, merchant, 'GET', path);
      assert.equal(answer.status, 200, path);
      assert.deepEqual(await openapi.violations(template, 'get', 200, answer.body), [], path);
    }
    // The old integer form of a total is refused by the document.
    const asNumber = { ...batches[0]!, gross: 15_000 };
    assert.notDeepEqual(await openapi.violations('/settlements', 'get', 200, { data: [asNumber] }), []);
  } finally {
    openapi.close();
  }
  assert.deepEqual(await balance(merchant), {
    currency: 'USD',
    pending: '0',
    available: '0',
    inTransit: '0',
    authorized: '0',
  });

  // The same day again: nothing changes, and it says so.
  const again = await settle(today());
  assert.equal(again.body['outcome'], 'already_completed');
  assert.equal(
    ((await call(server.baseUrl, merchant, 'GET', '/settlements')).body['data'] as unknown[]).length,
    1,
  );
  assert.equal(
    ((await call(server.baseUrl, merchant, 'GET', '/payouts')).body['data'] as unknown[]).length,
    1,
  );

  // Another merchant cannot see them.
  const other = await merchantSession(server, 'Nosy shop');
  assert.equal(
    (await call(server.baseUrl, other, 'GET', `/settlements/${batches[0]!['id'] as string}`)).status,
    404,
  );
  assert.equal((await call(server.baseUrl, other, 'GET', `/payouts/${paid['id'] as string}`)).status, 404);

  const events = await server.database.sql<{ type: string }[]>`
    select type from events.outbox where merchant_id = ${merchant.merchantId}
      and type in ('settlement.completed.v1', 'payout.paid.v1') order by staged_sequence`;
  assert.deepEqual(
    events.map((event) => event.type),
    ['settlement.completed.v1', 'payout.paid.v1'],
  );
  await assertLedgerVerifies(server.database.url);
});

test('a payout the bank refuses fails and the money is available again', async () => {
  const merchant = await merchantSession(server, 'Closed account shop');
  // A sale whose net ends in 13 minor units: the simulated bank refuses it (account_closed).
  let amount = 1_000;
  while (
    (BigInt(amount) - captureFee({ percentBps: 290, fixedFees: { USD: 30n } }, 'USD', BigInt(amount))) %
      100n !==
    13n
  )
    amount += 1;
  await sale(merchant, amount, { capture: true });
  await waitForItems(merchant.merchantId, 1);
  const date = '2099-12-31'; // any date after the sale settles it
  const run = await settle(date);
  assert.equal(run.status, 200, JSON.stringify(run.body));
  const failed = await waitForPayout(merchant, (payout) => payout['status'] === 'failed');
  assert.equal(failed['failureReason'], 'account_closed');
  const net = Number(
    BigInt(amount) - captureFee({ percentBps: 290, fixedFees: { USD: 30n } }, 'USD', BigInt(amount)),
  );
  assert.deepEqual(await balance(merchant), {
    currency: 'USD',
    pending: '0',
    available: String(net),
    inTransit: '0',
    authorized: '0',
  });
  await assertLedgerVerifies(server.database.url);
});

test('two settlement runs of one day at once settle every item once', async () => {
  const merchant = await merchantSession(server, 'Raced shop');
  for (let index = 0; index < 5; index += 1) await sale(merchant, 1_000 + index, { capture: true });
  await waitForItems(merchant.merchantId, 5);
  const date = '2099-12-30';
  const answers = await Promise.all([settle(date), settle(date), settle(date)]);
  for (const answer of answers)
    assert.ok(
      answer.status === 200 || (answer.status === 409 && answer.body['code'] === 'job_running'),
      JSON.stringify(answer.body),
    );
  assert.ok(answers.some((answer) => answer.status === 200 && answer.body['outcome'] === 'completed'));
  const [row] = await server.database.sql<{ batches: bigint; items: bigint; unsettled: bigint }[]>`
    select (select count(*) from settlement.batches where merchant_id = ${merchant.merchantId})::bigint as batches,
           (select coalesce(sum(item_count), 0) from settlement.batches where merchant_id = ${merchant.merchantId})::bigint as items,
           (select count(*) from settlement.items where merchant_id = ${merchant.merchantId} and batch_id is null)::bigint as unsettled`;
  assert.deepEqual(row, { batches: 1n, items: 5n, unsettled: 0n });
  await assertLedgerVerifies(server.database.url);
});

test('a bad date is 422 and settles nothing; settlement routes need the right token', async () => {
  const bad = await settle('2026-02-30');
  assert.equal(bad.status, 422);
  assert.equal(bad.body['code'], 'invalid_date');
  const merchant = await merchantSession(server, 'Curious shop');
  const refused = await fetch(`${server.baseUrl}/v1/admin/settlement/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${merchant.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ date: today() }),
  });
  assert.equal(refused.status, 403);
  assert.equal((await fetch(`${server.baseUrl}/settlements`)).status, 401);
});
