// GET /balance through the real server: the token's merchant only, scope balance:read, balances as
// decimal strings of minor units (ADR 27) derived from the postings in the database (past 2^53:
// money-past-2-53.test.ts).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './support/server.ts';
import { adminToken, fetchToken, merchantSession } from './support/identity.ts';
import { newId } from '../src/platform/ids.ts';
import { loadConfiguration } from '../src/apps/configuration.ts';
import { createLogger } from '../src/platform/log.ts';
import { systemClock } from '../src/platform/clock.ts';
import {
  authorizationHold,
  authorizeAndCaptureJournals,
  ledgerModule,
  refundJournal,
  type LedgerFace,
} from '../src/modules/ledger/index.ts';

let server: TestServer;
let ledger: LedgerFace;

before(async () => {
  server = await startTestServer();
  const context = {
    ...loadConfiguration({}),
    sql: server.database.sql,
    log: createLogger({ level: 'silent' }),
    clock: systemClock,
  };
  ledger = (await ledgerModule.create!(context, {})).face as LedgerFace;
});
after(async () => {
  await server.close();
});

const stamp = () => ({ journalId: newId('jnl'), occurredAt: new Date() });

async function getBalance(token: string | undefined) {
  const response = await fetch(`${server.baseUrl}/balance`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  return { status: response.status, type: response.headers.get('content-type'), body: await response.json() };
}

test('GET /balance shows the token’s merchant its available and pending money per currency', async () => {
  const merchant = await merchantSession(server);
  const other = await merchantSession(server);
  assert.deepEqual((await getBalance(merchant.token)).body, { balances: [] });

  const sale = { paymentId: newId('pay'), merchantId: merchant.merchantId, currency: 'EUR' as const };
  const held = { paymentId: newId('pay'), merchantId: merchant.merchantId, currency: 'USD' as const };
  const large = { paymentId: newId('pay'), merchantId: merchant.merchantId, currency: 'JPY' as const };
  await server.database.sql.begin(async (transaction) => {
    for (const journal of authorizeAndCaptureJournals(
      sale,
      { amount: 5_000n },
      { hold: stamp(), capture: stamp() },
    ))
      await ledger.post(transaction, journal);
    await ledger.post(transaction, refundJournal(sale, { refundAmount: 1_250n }, stamp()));
    await ledger.post(transaction, authorizationHold(held, { authorized: 999n }, stamp()));
    await ledger.post(transaction, authorizationHold(large, { authorized: 99_999_999_999n }, stamp()));
  });

  const response = await getBalance(merchant.token);
  assert.equal(response.status, 200);
  assert.match(response.type ?? '', /application\/json/);
  assert.deepEqual(response.body, {
    balances: [
      { currency: 'EUR', pending: '3750', available: '0', inTransit: '0', authorized: '0' },
      { currency: 'JPY', pending: '0', available: '0', inTransit: '0', authorized: '99999999999' },
      { currency: 'USD', pending: '0', available: '0', inTransit: '0', authorized: '999' },
    ],
  });
  // Another merchant sees none of it.
  assert.deepEqual((await getBalance(other.token)).body, { balances: [] });
});

test('GET /balance needs a merchant token with balance:read', async () => {
  const merchant = await merchantSession(server);
  const anonymous = await getBalance(undefined);
  assert.equal(anonymous.status, 401);
  assert.match(anonymous.type ?? '', /application\/problem\+json/);

  const narrow = await fetchToken(server.baseUrl, merchant.clientId, merchant.clientSecret, 'payments:read');
  const withoutScope = await getBalance(narrow);
  assert.equal(withoutScope.status, 403);
  assert.equal((withoutScope.body as { code: string }).code, 'insufficient_scope');

  const publishable = await getBalance(merchant.publishableToken);
  assert.equal(publishable.status, 403);

  const admin = await getBalance(await adminToken(server));
  assert.equal(admin.status, 403);
});
