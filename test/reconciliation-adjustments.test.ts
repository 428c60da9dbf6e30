// Resolving reconciliation exceptions with adjustment journals (ADR 20), against real PostgreSQL and
// the simulated acquirer's report: an amount the acquirer paid differently posts between bank and
// acquirer costs (the merchant untouched); a chargeback the merchant bears lowers its available
// balance; journal, resolution and `settlement.adjusted.v1` commit together, once, even when two
// operators resolve at the same moment; an adjustment that does not fit changes nothing; an item a
// report lacked and a later report names is answered as settled late; the ledger still verifies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningSimulator } from '../src/simulator/index.ts';
import { adminToken, merchantSession, type MerchantSession, bearerCall } from './support/identity.ts';
import {
  assertLedgerVerifies,
  authorizeBody,
  call,
  paymentsEnv,
  startTestAcquirer,
  tokenize,
} from './support/payments.ts';
import { runCli, startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
let acquirer: RunningSimulator;
let admin: string;
let merchant: MerchantSession;
const payments: string[] = [];
const today = new Date().toISOString().slice(0, 10);

const adminCall = (method: 'GET' | 'POST', path: string, body?: unknown) =>
  bearerCall(server.baseUrl, admin, method, path, body);

/** The merchant's ledger balance (debits minus credits) per account role, in USD. */
async function ledgerByRole(): Promise<Record<string, bigint>> {
  const rows = await server.database.sql<{ role: string; total: bigint }[]>`
    select account.role, sum(posting.amount)::bigint as total
    from ledger.accounts account join ledger.postings posting on posting.account_id = account.id
    where account.merchant_id = ${merchant.merchantId} and account.currency = 'USD'
    group by account.role`;
  return Object.fromEntries(rows.map((row) => [row.role, row.total]));
}

async function openExceptions(): Promise<Record<string, unknown>[]> {
  return (await adminCall('GET', '/v1/admin/reconciliation/exceptions?status=open&limit=500')).body[
    'data'
  ] as Record<string, unknown>[];
}

before(async () => {
  acquirer = await startTestAcquirer();
  server = await startTestServer({ env: paymentsEnv(acquirer.url, { EVENTS_POLL_INTERVAL_MS: '50' }) });
  admin = await adminToken(server);
  merchant = await merchantSession(server, 'Adjusted shop');
  for (const amount of [1_000, 2_000, 3_000]) {
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
  let items = 0;
  for (let attempt = 0; attempt < 200 && items < 3; attempt += 1) {
    const [row] = await server.database.sql<{ n: bigint }[]>`
      select count(*)::bigint as n from settlement.items where merchant_id = ${merchant.merchantId}`;
    items = Number(row!.n);
    if (items < 3) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal(items, 3, 'settlement saw the three captures');
});
after(async () => {
  await server.close();
  await acquirer.close();
});

test('adjustments post balanced journals with their event; a chargeback is adjusted once under concurrency', async () => {
  const [missing, differing, charged] = payments.map((id) => `${id}.capture`);
  const run = await adminCall('POST', '/v1/admin/reconciliation/fetch', {
    date: today,
    simulatorFaults: `missing=${missing}&amount=${differing}&chargeback=${charged}`,
  });
  assert.equal(run.status, 201, JSON.stringify(run.body));
  const open = await openExceptions();
  const byOutcome = new Map(open.map((item) => [item['outcome'] as string, item['id'] as string]));
  const before = await ledgerByRole();

  // An adjustment that does not fit its exception: 422, nothing posted, still open.
  const wrong = await adminCall(
    'POST',
    `/v1/admin/reconciliation/exceptions/${byOutcome.get('missing_in_report')}/resolve`,
    { reason: 'try', adjustment: 'acquirer_difference' },
  );
  assert.equal(wrong.status, 422, JSON.stringify(wrong.body));
  assert.equal(wrong.body['code'], 'adjustment_not_applicable');
  assert.deepEqual(await ledgerByRole(), before);

  // The acquirer settled 20.01 for a 20.00 capture: PayFlow's bank got 0.01 more, its costs 0.01 less.
  const difference = await adminCall(
    'POST',
    `/v1/admin/reconciliation/exceptions/${byOutcome.get('amount_mismatch')}/resolve`,
    { reason: 'acquirer confirmed the extra cent', adjustment: 'acquirer_difference' },
  );
  assert.equal(difference.status, 200, JSON.stringify(difference.body));
  assert.deepEqual(difference.body['adjustment'], {
    kind: 'acquirer_difference',
    journalId: `adjustment:${byOutcome.get('amount_mismatch')}`,
    merchantId: merchant.merchantId,
    currency: 'USD',
    amount: '1',
  });
  const afterDifference = await ledgerByRole();
  assert.equal(afterDifference['bank'] ?? 0n, (before['bank'] ?? 0n) + 1n);
  assert.equal(afterDifference['acquirer_costs'] ?? 0n, (before['acquirer_costs'] ?? 0n) - 1n);
  for (const role of ['payable', 'merchant_available', 'receivable_from_acquirer'])
    assert.equal(afterDifference[role], before[role], `${role} is the merchant's, untouched`);

  // Two operators resolve the chargeback at once: one journal, one 200, one 409.
  const chargebackId = byOutcome.get('chargeback')!;
  const answers = await Promise.all(
    [1, 2].map((operator) =>
      adminCall('POST', `/v1/admin/reconciliation/exceptions/${chargebackId}/resolve`, {
        reason: `operator ${operator}: cardholder dispute lost`,
        adjustment: 'merchant_chargeback',
      }),
    ),
  );
  assert.deepEqual(answers.map((answer) => answer.status).sort(), [200, 409]);
  const afterChargeback = await ledgerByRole();
  assert.equal(
    afterChargeback['merchant_available'] ?? 0n,
    (afterDifference['merchant_available'] ?? 0n) + 3_000n,
    'the merchant bears the 30.00 (a debit on a credit-normal account)',
  );
  assert.equal(afterChargeback['bank'], (afterDifference['bank'] ?? 0n) - 3_000n);
  const balance = await call(server.baseUrl, merchant, 'GET', '/balance');
  const usd = (balance.body['balances'] as Record<string, unknown>[]).find(
    (item) => item['currency'] === 'USD',
  );
  assert.equal(usd?.['available'], '-3000', 'carried over to the next payout');

  const journals = await server.database.sql<{ id: string; postings: bigint; total: bigint }[]>`
    select journal.id, count(*)::bigint as postings, sum(posting.amount)::bigint as total
    from ledger.journals journal join ledger.postings posting on posting.journal_id = journal.id
    where journal.kind = 'reconciliation_adjustment' group by journal.id order by journal.id`;
  assert.deepEqual(
    journals.map((journal) => [journal.id, Number(journal.postings), journal.total]),
    [
      [`adjustment:${chargebackId}`, 2, 0n],
      [`adjustment:${byOutcome.get('amount_mismatch')}`, 2, 0n],
    ].sort((left, right) => String(left[0]).localeCompare(String(right[0]))),
  );
  const events = await server.database.sql<{ merchant_id: string; payload: Record<string, unknown> }[]>`
    select merchant_id, payload from events.outbox where type = 'settlement.adjusted.v1' order by staged_sequence`;
  assert.deepEqual(
    events.map((event) => [event.merchant_id, event.payload['adjustment'], event.payload['amount']]),
    [
      ['platform', 'acquirer_difference', '1'],
      [merchant.merchantId, 'merchant_chargeback', '3000'],
    ],
  );
  const resolved = (await adminCall('GET', '/v1/admin/reconciliation/exceptions?status=resolved')).body[
    'data'
  ] as Record<string, unknown>[];
  assert.deepEqual(resolved.find((item) => item['id'] === chargebackId)?.['adjustment'], {
    kind: 'merchant_chargeback',
    journalId: `adjustment:${chargebackId}`,
    amount: '3000',
  });

  // The database refuses to change a resolved exception, whoever asks.
  await assert.rejects(
    server.database.sql`
      update settlement.reconciliation_results set resolution = 'rewritten' where id = ${chargebackId}`,
    /already resolved/,
  );
  await assertLedgerVerifies(server.database.url);
  // Settlement's records agree with the ledger: the chargeback is part of the available balance.
  const verified = await runCli(['settlement', 'verify'], { DATABASE_URL: server.database.url });
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  assert.match(verified.stdout, /merchant currencies checked against the ledger; OK/);
  assert.doesNotMatch(verified.stdout, /in flight/);
});

test('an item a report lacked, named by a later report, is answered as settled late', async () => {
  const missingId = (await openExceptions()).find((item) => item['outcome'] === 'missing_in_report')?.['id'];
  assert.ok(typeof missingId === 'string');
  const clean = await adminCall('POST', '/v1/admin/reconciliation/fetch', { date: today });
  assert.equal(clean.status, 201, JSON.stringify(clean.body));
  assert.equal((clean.body['counts'] as Record<string, number>)['matched'], 3);
  const stillOpen = await openExceptions();
  assert.equal(
    stillOpen.find((item) => item['id'] === missingId),
    undefined,
    'no longer open',
  );
  const resolved = (await adminCall('GET', '/v1/admin/reconciliation/exceptions?status=resolved')).body[
    'data'
  ] as Record<string, unknown>[];
  assert.match(
    String(resolved.find((item) => item['id'] === missingId)?.['resolution']),
    new RegExp(`^settled late: report run ${String(clean.body['runId'])}, line \\d+$`),
  );
});

test('the acquirer keeping a cent more of a capture is a cost_mismatch, adjusted between bank and acquirer costs', async () => {
  const charged = `${payments[2]}.capture`;
  const run = await adminCall('POST', '/v1/admin/reconciliation/fetch', {
    date: today,
    simulatorFaults: `cost=${charged}`,
  });
  assert.equal(run.status, 201, JSON.stringify(run.body));
  const counts = run.body['counts'] as Record<string, number>;
  assert.deepEqual([counts['matched'], counts['cost_mismatch']], [2, 1]);
  const exception = (await openExceptions()).find(
    (item) => item['outcome'] === 'cost_mismatch' && item['reference'] === charged,
  );
  // 1.5 % of 30.00 expected (0.45), 0.46 reported.
  assert.deepEqual([exception?.['expectedAmount'], exception?.['reportedAmount']], ['45', '46']);
  const before = await ledgerByRole();
  const resolved = await adminCall(
    'POST',
    `/v1/admin/reconciliation/exceptions/${String(exception!['id'])}/resolve`,
    { reason: 'scheme fee increase', adjustment: 'acquirer_difference' },
  );
  assert.equal(resolved.status, 200, JSON.stringify(resolved.body));
  assert.equal((resolved.body['adjustment'] as Record<string, unknown>)['amount'], '-1');
  const after = await ledgerByRole();
  assert.equal(after['bank'], (before['bank'] ?? 0n) - 1n);
  assert.equal(after['acquirer_costs'], (before['acquirer_costs'] ?? 0n) + 1n);
  assert.equal(after['merchant_available'], before['merchant_available'], 'the merchant is untouched');
  await assertLedgerVerifies(server.database.url);
});
