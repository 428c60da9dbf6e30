// A balance past 2^53 minor units, reached through real postings (a chargeback the acquirer
// reported; issue 17, ADR 27): GET /balance answers 200 with the exact digits as a decimal string,
// the SDK reads the exact bigint, and the answer matches the schema /openapi.json documents for it.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './support/server.ts';
import { merchantSession } from './support/identity.ts';
import { openApiAnswers } from './support/openapi.ts';
import { newId } from '../src/platform/ids.ts';
import { amountMaxMinor } from '../src/platform/money.ts';
import {
  authorizeAndCaptureJournals,
  ledgerFace,
  reconciliationAdjustmentJournal,
} from '../src/modules/ledger/index.ts';
import { PayFlowClient } from '../sdk/src/index.ts';

let server: TestServer;

before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.close();
});

test('a balance past 2^53 minor units answers 200 with its exact digits; the SDK reads the exact bigint; the OpenAPI document matches', async () => {
  // One payment's postings never exceed amountMaxMinor, so reaching 2^53 with payments takes 90,073
  // maximal payments: posted one journal each that ran over the 7-minute test limit on the shared
  // box. The acquirer's figures are not bounded by PayFlow (ADR 27), so the merchant gets there
  // through a path the ledger really has: a chargeback from the acquirer's settlement report that an
  // operator charged to the merchant (ADR 20), built by the ledger's own builder and posted through
  // LedgerFace.post. Its 9,007,299,999,909,927 JPY is past Number.MAX_SAFE_INTEGER
  // (9,007,199,254,740,991) and odd, so no float holds it: as a JSON number it would read as …928.
  // A maximal sale beside it gives a pending balance of one payment's size.
  const merchant = await merchantSession(server);
  const chargeback = 9_007_299_999_909_927n;
  assert.ok(chargeback > BigInt(Number.MAX_SAFE_INTEGER));
  assert.notEqual(BigInt(Number(chargeback)), chargeback, 'a float cannot hold this balance');
  const sale = { paymentId: newId('pay'), merchantId: merchant.merchantId, currency: 'JPY' as const };
  const occurredAt = new Date();
  const stamp = () => ({ journalId: newId('jnl'), occurredAt });
  await server.database.sql.begin(async (transaction) => {
    for (const journal of authorizeAndCaptureJournals(
      sale,
      { amount: amountMaxMinor },
      { hold: stamp(), capture: stamp() },
    ))
      await ledgerFace.post(transaction, journal);
    await ledgerFace.post(
      transaction,
      reconciliationAdjustmentJournal(
        merchant.merchantId,
        'JPY',
        { kind: 'merchant_chargeback', amount: chargeback },
        stamp(),
      ),
    );
  });
  const [sum] = await server.database.sql<{ total: string }[]>`
    select sum(posting.amount)::text as total
    from ledger.postings posting join ledger.accounts account on account.id = posting.account_id
    where account.merchant_id = ${merchant.merchantId} and account.role = 'merchant_available'`;
  assert.equal(sum!.total, chargeback.toString(), 'the database holds the exact debit');

  // The HTTP answer: 200, the digits exact (read from the raw text, before any JSON parser).
  const response = await fetch(`${server.baseUrl}/balance`, {
    headers: { authorization: `Bearer ${merchant.token}` },
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  assert.ok(text.includes('"available":"-9007299999909927"'), text);
  const body = JSON.parse(text) as unknown;
  assert.deepEqual(body, {
    balances: [
      {
        currency: 'JPY',
        pending: '99999999999',
        available: '-9007299999909927',
        inTransit: '0',
        authorized: '0',
      },
    ],
  });

  // The OpenAPI document describes exactly this answer (and would refuse the old integer form).
  const openapi = await openApiAnswers(server.baseUrl);
  assert.deepEqual(await openapi.violations('/balance', 'get', 200, body), []);
  const asNumbers = {
    balances: [{ currency: 'JPY', pending: 0, available: 0, inTransit: 0, authorized: 1 }],
  };
  assert.notDeepEqual(await openapi.violations('/balance', 'get', 200, asNumbers), []);
  openapi.close();

  // The SDK reads it as the exact bigint.
  const client = new PayFlowClient({
    baseUrl: server.baseUrl,
    clientId: merchant.clientId,
    clientSecret: merchant.clientSecret,
  });
  const { balances } = await client.getBalance();
  assert.deepEqual(balances, [
    { currency: 'JPY', pending: amountMaxMinor, available: -chargeback, inTransit: 0n, authorized: 0n },
  ]);
  assert.equal(typeof balances[0]!.available, 'bigint');
});
