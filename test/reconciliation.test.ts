// Reconciliation of the acquirer's settlement report (ADR 20) against real PostgreSQL and the
// simulated acquirer's report: a clean day matches line by line; each injected fault lands in its
// own outcome and nothing else does; the same report twice records nothing new; malformed reports
// name their line and, past the skip limit, record nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningSimulator } from '../src/simulator/index.ts';
import { adminToken, bearerCall, merchantSession, type MerchantSession } from './support/identity.ts';
import { authorizeBody, call, paymentsEnv, startTestAcquirer, tokenize } from './support/payments.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
let acquirer: RunningSimulator;
let admin: string;
let merchant: MerchantSession;
const payments: string[] = [];
let refundId = '';
const today = new Date().toISOString().slice(0, 10);

const adminCall = (method: 'GET' | 'POST', path: string, body?: unknown, contentType?: string) =>
  bearerCall(server.baseUrl, admin, method, path, body, contentType);

before(async () => {
  acquirer = await startTestAcquirer();
  server = await startTestServer({ env: paymentsEnv(acquirer.url, { EVENTS_POLL_INTERVAL_MS: '50' }) });
  admin = await adminToken(server);
  merchant = await merchantSession(server, 'Reconciled shop');
  for (const amount of [1_000, 2_000, 3_000, 4_000]) {
    const token = await tokenize(server.baseUrl, merchant);
    const sale = await call(
      server.baseUrl,
      merchant,
      'POST',
      '/payments/authorize',
      authorizeBody(token, amount, { capture: true }),
    );
    assert.equal(sale.status, 201, sale.text);
    payments.push(sale.body['paymentId'] as string);
  }
  const refund = await call(server.baseUrl, merchant, 'POST', `/payments/${payments[1]}/refund`, {
    amount: 500,
  });
  assert.equal(refund.status, 200, refund.text);
  refundId = (refund.body['refund'] as Record<string, unknown> | undefined)?.['id'] as string;
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const [row] = await server.database.sql<
      { n: bigint }[]
    >`select count(*)::bigint as n from settlement.items`;
    if (Number(row!.n) === 5) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});
after(async () => {
  await server.close();
  await acquirer.close();
});

const zero = {
  matched: 0,
  amount_mismatch: 0,
  cost_mismatch: 0,
  unexpected_in_report: 0,
  duplicate_in_report: 0,
  missing_in_report: 0,
  chargeback: 0,
  malformed: 0,
};

test('a clean report matches every capture and refund; the same report again records nothing', async () => {
  const run = await adminCall('POST', '/v1/admin/reconciliation/fetch', { date: today });
  assert.equal(run.status, 201, JSON.stringify(run.body));
  assert.deepEqual(run.body['counts'], { ...zero, matched: 5 });
  const again = await adminCall('POST', '/v1/admin/reconciliation/fetch', { date: today });
  assert.equal(again.status, 200);
  assert.equal(again.body['alreadyReconciled'], true);
  assert.equal(again.body['runId'], run.body['runId']);
  const [results] = await server.database.sql<{ n: bigint }[]>`
    select count(*)::bigint as n from settlement.reconciliation_results`;
  assert.equal(Number(results!.n), 5);
});

test('each injected fault lands in its own outcome, and an exception is resolved once', async () => {
  const [a, b, c, d] = payments.map((id) => `${id}.capture`);
  const faults = `missing=${a}&amount=${b}&duplicate=${c}&chargeback=${d}&unknown=true`;
  const run = await adminCall('POST', '/v1/admin/reconciliation/fetch', {
    date: today,
    simulatorFaults: faults,
  });
  assert.equal(run.status, 201, JSON.stringify(run.body));
  assert.deepEqual(run.body['counts'], {
    ...zero,
    matched: 3, // the refund, c (its first row) and d
    amount_mismatch: 1,
    duplicate_in_report: 1,
    unexpected_in_report: 1,
    missing_in_report: 1,
    chargeback: 1,
  });
  const open = (await adminCall('GET', '/v1/admin/reconciliation/exceptions?status=open')).body[
    'data'
  ] as Record<string, unknown>[];
  const byOutcome = new Map(open.map((item) => [item['outcome'] as string, item]));
  assert.equal(byOutcome.get('missing_in_report')?.['reference'], payments[0]);
  assert.deepEqual(
    [
      byOutcome.get('amount_mismatch')?.['expectedAmount'],
      byOutcome.get('amount_mismatch')?.['reportedAmount'],
    ],
    ['2000', '2001'],
  );
  assert.ok(typeof byOutcome.get('duplicate_in_report')?.['line'] === 'number');
  assert.ok(refundId === undefined || refundId.length > 0);

  const id = byOutcome.get('amount_mismatch')!['id'] as string;
  const resolved = await adminCall('POST', `/v1/admin/reconciliation/exceptions/${id}/resolve`, {
    reason: 'acquirer confirmed a rounding error; credited next batch',
  });
  assert.equal(resolved.status, 200, JSON.stringify(resolved.body));
  const twice = await adminCall('POST', `/v1/admin/reconciliation/exceptions/${id}/resolve`, {
    reason: 'again',
  });
  assert.equal(twice.status, 409);
  const done = (await adminCall('GET', '/v1/admin/reconciliation/exceptions?status=resolved')).body[
    'data'
  ] as unknown[];
  assert.equal(done.length, 1);
});

const header =
  'Psp Reference,Merchant Reference,Type,Gross Currency,Gross Debit (GC),Gross Credit (GC),Net Currency,Net Debit (NC),Net Credit (NC),Batch Number';
const settled = (reference: string, amount: string, currency = 'USD', net = amount) =>
  `PSP,${reference},Settled,${currency},,${amount},${currency},,${net},1`;

test('malformed reports: a bad header or a giant line is refused with its line; bad rows up to the limit are recorded', async () => {
  const upload = (csv: string) => adminCall('POST', '/v1/admin/reconciliation/reports', csv, 'text/csv');
  const runsBefore = ((await adminCall('GET', '/v1/admin/reconciliation/runs')).body['data'] as unknown[])
    .length;

  const badHeader = await upload('Psp Reference,Type\nPSP,Settled\n');
  assert.equal(badHeader.status, 422);
  assert.equal(badHeader.body['code'], 'invalid_report');
  assert.match(String(badHeader.body['detail']), /line 1: the header lacks "Merchant Reference"/);

  const giant = await upload(
    `${header}\n${settled(`pay_x.capture${'x'.repeat(10 * 1024 * 1024)}`, '1.00')}\n`,
  );
  assert.equal(giant.status, 422);
  assert.match(String(giant.body['detail']), /line 2: a row is longer than/);

  // A row with more fields than the header is a broken file, refused whole with its line.
  const ragged = await upload(`${header}\n${settled('pay_r.capture', '12,50')}\n`);
  assert.equal(ragged.status, 422);
  assert.match(String(ragged.body['detail']), /^line 2: /);

  const someBad = await upload(
    [
      header,
      settled(`${payments[2]}.capture`, '30.00', 'USD', '29.55'), // the acquirer kept 1.5 %, as expected
      settled('pay_y.capture', '"12,50"'),
      settled('pay_z.capture', '10.0'),
      settled('pay_j.capture', '10.00', 'JPY'),
    ].join('\n') + '\n',
  );
  assert.equal(someBad.status, 201, JSON.stringify(someBad.body));
  assert.equal((someBad.body['counts'] as Record<string, number>)['malformed'], 3);
  assert.equal((someBad.body['counts'] as Record<string, number>)['matched'], 1);
  const listed = await adminCall('GET', '/v1/admin/reconciliation/exceptions?status=open&limit=500');
  assert.equal(listed.status, 200, JSON.stringify(listed.body));
  const malformed = (listed.body['data'] as Record<string, unknown>[]).filter(
    (item) => item['outcome'] === 'malformed',
  );
  assert.deepEqual(malformed.map((item) => item['line']).sort(), [3, 4, 5]);
  assert.match(String(malformed.find((item) => item['line'] === 5)?.['detail']), /0 decimal\(s\) for JPY/);

  const tooMany = await upload(
    [header, ...Array.from({ length: 11 }, (_, index) => settled(`pay_${index}.capture`, 'x'))].join('\n') +
      '\n',
  );
  assert.equal(tooMany.status, 422);
  assert.equal(tooMany.body['code'], 'too_many_malformed_rows');
  assert.equal(tooMany.body['line'], 12);
  assert.match(String(tooMany.body['detail']), /the last: line 12: /);
  const runsAfter = ((await adminCall('GET', '/v1/admin/reconciliation/runs')).body['data'] as unknown[])
    .length;
  assert.equal(runsAfter, runsBefore + 1, 'only the report within the skip limit was recorded');
});
