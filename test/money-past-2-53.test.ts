// A balance past 2^53 minor units, reached through real postings (issue 17, ADR 27): GET /balance
// answers 200 with the exact digits as a decimal string, the SDK reads the exact bigint, and the
// answer matches the schema /openapi.json documents for it.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './support/server.ts';
import { merchantSession } from './support/identity.ts';
import { openApiAnswers } from './support/openapi.ts';
import { newId } from '../src/platform/ids.ts';
import { amountMaxMinor } from '../src/platform/money.ts';
import { ledgerFace, authorizationHold } from '../src/modules/ledger/index.ts';
import { PayFlowClient } from '../sdk/src/index.ts';

let server: TestServer;

before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.close();
});

test('a balance past 2^53 minor units answers 200 with its exact digits; the SDK reads the exact bigint; the OpenAPI document matches', async () => {
  // One posting never exceeds one payment's maximum (amountMaxMinor), and the database ties every
  // hold journal to its payment, so the merchant gets there as a real one would: 90,073 open
  // authorizations of the maximum 99,999,999,999 JPY, each its own payment's hold journal built by
  // the ledger's builder (authorizationHold) and posted through LedgerFace.post, in one transaction,
  // pipelined 2,000 at a time (≈ 1 minute on the shared box). The sum, 9,007,299,999,909,927, is past
  // Number.MAX_SAFE_INTEGER (9,007,199,254,740,991); as a JSON number it would read as …928.
  const merchant = await merchantSession(server);
  // 90,072 would pass 2^53 too, but with an even sum a float happens to hold; an odd count gives an
  // odd sum, which no float past 2^53 can.
  const holds = 90_073;
  const expected = BigInt(holds) * amountMaxMinor;
  assert.ok(expected > BigInt(Number.MAX_SAFE_INTEGER));
  assert.equal(expected, 9_007_299_999_909_927n);
  assert.notEqual(BigInt(Number(expected)), expected, 'a float cannot hold this balance');
  await server.database.sql.begin(async (transaction) => {
    const occurredAt = new Date();
    for (let start = 0; start < holds; start += 2_000) {
      const batch: Promise<void>[] = [];
      for (let index = start; index < Math.min(start + 2_000, holds); index += 1) {
        const payment = {
          paymentId: newId('pay'),
          merchantId: merchant.merchantId,
          currency: 'JPY' as const,
        };
        const hold = authorizationHold(
          payment,
          { authorized: amountMaxMinor },
          { journalId: newId('jnl'), occurredAt },
        );
        batch.push(ledgerFace.post(transaction, hold));
      }
      await Promise.all(batch);
    }
  });
  const [sum] = await server.database.sql<{ total: string }[]>`
    select sum(posting.amount)::text as total
    from ledger.postings posting join ledger.accounts account on account.id = posting.account_id
    where account.merchant_id = ${merchant.merchantId} and account.role = 'authorization_holds'`;
  assert.equal(sum!.total, expected.toString(), 'the database holds the exact sum');

  // The HTTP answer: 200, the digits exact (read from the raw text, before any JSON parser).
  const response = await fetch(`${server.baseUrl}/balance`, {
    headers: { authorization: `Bearer ${merchant.token}` },
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  assert.ok(text.includes('"authorized":"9007299999909927"'), text);
  const body = JSON.parse(text) as unknown;
  assert.deepEqual(body, {
    balances: [
      { currency: 'JPY', pending: '0', available: '0', inTransit: '0', authorized: '9007299999909927' },
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
    { currency: 'JPY', pending: 0n, available: 0n, inTransit: 0n, authorized: expected },
  ]);
  assert.equal(typeof balances[0]!.authorized, 'bigint');
});
