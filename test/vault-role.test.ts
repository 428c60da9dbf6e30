// `payflow start --role vault`: the vault as its own process. The api process gets VAULT_URL and a
// service client but no vault key (and generates none); it authorizes and captures a payment with a
// token made by the vault process, fetching the card data over the vault's service-only route, and
// searches payments by card last 4 through it.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createTestDatabase } from './support/database.ts';
import { runCli, spawnServer, temporaryDataDir } from './support/server.ts';
import { createMerchantCredentials, fetchToken, type MerchantSession } from './support/identity.ts';
import { authorizeBody, call, paymentsEnv, startTestAcquirer, tokenize } from './support/payments.ts';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

test('a --role vault process holds the key; an api process with VAULT_URL and no key authorizes and captures through it', async () => {
  const database = await createTestDatabase();
  cleanups.push(() => database.drop());
  const acquirer = await startTestAcquirer();
  cleanups.push(() => acquirer.close());

  const vault = await spawnServer(
    { DATABASE_URL: database.url, VAULT_MASTER_KEY: randomBytes(32).toString('hex') },
    ['--role', 'vault'],
  );
  cleanups.push(() => vault.stop());

  const created = await runCli(['clients', 'create', '--role', 'service'], { DATABASE_URL: database.url });
  assert.equal(created.code, 0, created.stderr);
  const service = JSON.parse(created.stdout) as { clientId: string; clientSecret: string };
  const apiDataDir = temporaryDataDir();
  const api = await spawnServer(
    {
      DATABASE_URL: database.url,
      PAYFLOW_DATA_DIR: apiDataDir,
      VAULT_URL: vault.baseUrl,
      VAULT_CLIENT_ID: service.clientId,
      VAULT_CLIENT_SECRET: service.clientSecret,
      ...paymentsEnv(acquirer.url),
    },
    ['--role', 'api'],
  );
  cleanups.push(() => api.stop());
  assert.equal(
    existsSync(path.join(apiDataDir, 'vault-keyring.json')),
    false,
    'the api process made no keyring',
  );

  const credentials = await createMerchantCredentials(database.sql);
  const merchantToken = await fetchToken(api.baseUrl, credentials.clientId, credentials.clientSecret);
  const merchant: MerchantSession = {
    ...credentials,
    token: merchantToken,
    publishableToken: await fetchToken(api.baseUrl, credentials.publishableKey, undefined),
    headers: (extra = {}) => ({
      authorization: `Bearer ${merchantToken}`,
      'content-type': 'application/json',
      ...extra,
    }),
  };

  // Tokens are made by the vault process; the api process does not serve /tokens.
  const cardToken = await tokenize(vault.baseUrl, merchant);
  const apiTokens = await call(api.baseUrl, merchant, 'POST', '/tokens', { card: {} });
  assert.equal(apiTokens.status, 404, 'no /tokens on the api process');
  // And the vault process serves nothing but health and the vault.
  assert.equal((await call(vault.baseUrl, merchant, 'GET', '/payments')).status, 404);
  assert.equal((await fetch(`${vault.baseUrl}/health/live`)).status < 500, true);

  const authorized = await call(
    api.baseUrl,
    merchant,
    'POST',
    '/payments/authorize',
    authorizeBody(cardToken, 2500),
  );
  assert.equal(authorized.status, 201, authorized.text);
  assert.equal(authorized.body.status, 'AUTHORIZED');
  const captured = await call(
    api.baseUrl,
    merchant,
    'POST',
    `/payments/${String(authorized.body.paymentId)}/capture`,
    {},
  );
  assert.equal(captured.status, 200, captured.text);
  assert.equal(captured.body.status, 'CAPTURED');

  // Search by last 4 and the list's card column go through the vault process's service routes too.
  const searched = await call(api.baseUrl, merchant, 'GET', '/payments?last4=4242');
  assert.equal(searched.status, 200, searched.text);
  assert.deepEqual(
    (searched.body.data as { paymentId: string; card?: unknown }[]).map((item) => [
      item.paymentId,
      item.card,
    ]),
    [[authorized.body.paymentId, { brand: 'visa', last4: '4242' }]],
  );
  assert.deepEqual((await call(api.baseUrl, merchant, 'GET', '/payments?last4=1111')).body.data, []);
  const asMerchantSearch = await fetch(`${vault.baseUrl}/internal/vault/tokens-ending-in`, {
    method: 'POST',
    headers: merchant.headers(),
    body: JSON.stringify({ merchantId: credentials.merchantId, last4: '4242' }),
  });
  assert.equal(asMerchantSearch.status, 403, 'a merchant cannot ask the vault for tokens by last 4');

  const audit = await database.sql<
    { actor: string; purpose: string; outcome: string; cvc_released: boolean }[]
  >`
    select actor, purpose, outcome, cvc_released from vault.access_log
    where action = 'detokenize' and token_id = ${cardToken}`;
  assert.deepEqual(
    [...audit],
    [
      {
        actor: `${service.clientId}/payments`,
        purpose: 'authorization',
        outcome: 'released',
        cvc_released: true,
      },
    ],
  );

  // The internal route: service tokens only.
  const detokenizeBody = JSON.stringify({
    merchantId: credentials.merchantId,
    token: cardToken,
    purpose: 'capture',
    actor: 'test',
  });
  const asMerchant = await fetch(`${vault.baseUrl}/internal/vault/detokenize`, {
    method: 'POST',
    headers: merchant.headers(),
    body: detokenizeBody,
  });
  assert.equal(asMerchant.status, 403);
  const anonymous = await fetch(`${vault.baseUrl}/internal/vault/detokenize`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: detokenizeBody,
  });
  assert.equal(anonymous.status, 401);

  // No log line of either process carries the card number.
  for (const line of [...vault.output, ...api.output]) assert.ok(!line.includes('4242424242424242'), line);
});
