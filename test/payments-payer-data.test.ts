// Erasing a payer's personal data (docs/personal-data.md): DELETE /payments/{id}/payer-data removes
// the receipt contact from the payment and, through payment.payer_data_erased.v1 (which carries no
// personal data), the recipients of its receipts; amounts and the ledger stay.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningSimulator } from '../src/simulator/index.ts';
import { merchantSession, type MerchantSession } from './support/identity.ts';
import {
  assertLedgerVerifies,
  authorizeBody,
  call,
  paymentsEnv,
  startTestAcquirer,
  tokenize,
} from './support/payments.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
let acquirer: RunningSimulator;
let merchant: MerchantSession;

before(async () => {
  acquirer = await startTestAcquirer();
  server = await startTestServer({ env: paymentsEnv(acquirer.url, { EVENTS_POLL_INTERVAL_MS: '50' }) });
  merchant = await merchantSession(server);
});
after(async () => {
  await server.close();
  await acquirer.close();
});

async function erase(paymentId: string, session = merchant) {
  const response = await fetch(`${server.baseUrl}/payments/${paymentId}/payer-data`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${session.token}` },
  });
  return { status: response.status, text: await response.text() };
}

async function receipts(paymentId: string) {
  return server.database.sql<
    { channel: string; recipient: string; status: string; erased_at: Date | null }[]
  >`
    select channel, recipient, status, erased_at from notifications.messages
    where source_id = ${paymentId} order by channel`;
}

test('DELETE /payments/{id}/payer-data erases the receipt contact and the receipts’ recipients; money stays', async () => {
  const email = 'payer@example.com';
  const phone = '+447700900123';
  const token = await tokenize(server.baseUrl, merchant);
  const sale = await call(
    server.baseUrl,
    merchant,
    'POST',
    '/payments/authorize',
    authorizeBody(token, 1250, { capture: true, receiptEmail: email, receiptPhone: phone }),
  );
  assert.equal(sale.status, 201, sale.text);
  const paymentId = sale.body['paymentId'] as string;
  // The receipts are queued (stored: no SMTP or SMS provider configured) with the addresses.
  for (let attempt = 0; attempt < 100 && (await receipts(paymentId)).length < 2; attempt += 1)
    await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(
    (await receipts(paymentId)).map((row) => row.recipient),
    [email, phone],
  );

  assert.equal((await erase(paymentId)).status, 204);
  const payment = (await call(server.baseUrl, merchant, 'GET', `/payments/${paymentId}`)).body;
  assert.equal('receiptEmail' in payment, false);
  assert.equal('receiptPhone' in payment, false);
  assert.equal(payment['status'], 'CAPTURED');
  assert.equal(payment['capturedAmount'], 1250);

  let rows = await receipts(paymentId);
  for (let attempt = 0; attempt < 100 && rows.some((row) => row.erased_at === null); attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    rows = await receipts(paymentId);
  }
  assert.deepEqual(
    rows.map((row) => row.recipient),
    ['[erased]', '[erased]'],
  );
  const [stored] = await server.database.sql<{ rows: string }[]>`
    select string_agg(t::text, ' ') as rows from (
      select receipt_email, receipt_phone from payments.payments where id = ${paymentId}
      union all select recipient, body from notifications.messages where source_id = ${paymentId}) t`;
  assert.doesNotMatch(stored!.rows, /payer@example\.com|447700900123/);
  const events = await server.database.sql<{ type: string; payload: unknown }[]>`
    select type, payload from events.outbox where aggregate_id = ${paymentId} order by staged_sequence`;
  assert.ok(events.some((event) => event.type === 'payment.payer_data_erased.v1'));
  assert.doesNotMatch(JSON.stringify(events), /payer@example\.com|447700900123/);

  // Again: nothing left, still 204, no second event.
  assert.equal((await erase(paymentId)).status, 204);
  const erasedEvents = await server.database.sql`
    select 1 from events.outbox where aggregate_id = ${paymentId} and type = 'payment.payer_data_erased.v1'`;
  assert.equal(erasedEvents.length, 1);
  await assertLedgerVerifies(server.database.url);
});

test('payer data of another merchant’s payment, or of an unknown one, is 404 and erases nothing', async () => {
  const token = await tokenize(server.baseUrl, merchant);
  const sale = await call(
    server.baseUrl,
    merchant,
    'POST',
    '/payments/authorize',
    authorizeBody(token, 500, { receiptEmail: 'someone@example.com' }),
  );
  const paymentId = sale.body['paymentId'] as string;
  const other = await merchantSession(server, 'Other shop');
  const refused = await erase(paymentId, other);
  assert.equal(refused.status, 404);
  assert.equal((JSON.parse(refused.text) as { code: string }).code, 'payment_not_found');
  assert.equal((await erase('pay_01jzzzzzzzzzzzzzzzzzzzzzzz')).status, 404);
  const payment = (await call(server.baseUrl, merchant, 'GET', `/payments/${paymentId}`)).body;
  assert.equal(payment['receiptEmail'], 'someone@example.com');
});
