// Randomized payment lives posted to the real database through the ledger face, checked against the
// domain auditor (LedgerAuditor, after TigerBeetle's auditor.zig). The driver below decides what to
// accept from what the DATABASE says (holds and balances read back through the face), never from
// the auditor; the auditor independently says what must have been accepted and what every balance
// must be. Each run prints its seed; PAYFLOW_LEDGER_SEED=<n> replays one.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { newId } from '../src/platform/ids.ts';
import type { CurrencyCode } from '../src/platform/money.ts';
import type { Sql } from '../src/platform/db/client.ts';
import { loadConfiguration } from '../src/apps/configuration.ts';
import { createLogger } from '../src/platform/log.ts';
import { systemClock } from '../src/platform/clock.ts';
import {
  authorizationHold,
  authorizeAndCaptureJournals,
  captureJournal,
  expiryJournal,
  ledgerModule,
  refundJournal,
  voidJournal,
  type LedgerFace,
  type PaymentLedgerRef,
} from '../src/modules/ledger/index.ts';
// The auditor is a test model of the ledger's own domain; only the tests use it.
// eslint-disable-next-line payflow/module-boundaries
import { LedgerAuditor, type AuditorOperation } from '../src/modules/ledger/domain/auditor.ts';

let database: TestDatabase;
let ledger: LedgerFace;

before(async () => {
  database = await createTestDatabase();
  const context = {
    ...loadConfiguration({}),
    sql: database.sql,
    log: createLogger({ level: 'silent' }),
    clock: systemClock,
  };
  ledger = (await ledgerModule.create!(context, {})).face as LedgerFace;
});
after(async () => {
  await database.drop();
});

const stamp = () => ({ journalId: newId('jnl'), occurredAt: new Date() });

/** A minimal payments engine whose only memory is the ledger in PostgreSQL. */
class DatabaseDriver {
  private readonly refs = new Map<string, PaymentLedgerRef>();
  constructor(
    private readonly sql: Sql,
    private readonly ledger: LedgerFace,
  ) {}

  async apply(operation: AuditorOperation): Promise<boolean> {
    if (operation.kind === 'authorize') return this.authorize(operation);
    const ref = this.refs.get(operation.paymentId);
    assert.ok(ref !== undefined);
    return this.sql.begin(async (transaction) => {
      const balance = await this.ledger.paymentBalance(transaction, ref.merchantId, ref.paymentId);
      switch (operation.kind) {
        case 'capture':
          if (balance.authorizedHold === 0n || operation.amount > balance.authorizedHold) return false;
          await this.ledger.post(
            transaction,
            captureJournal(ref, { captured: operation.amount, authorized: balance.authorizedHold }, stamp()),
          );
          return true;
        case 'refund':
          if (balance.refunded + operation.amount > balance.captured) return false;
          await this.ledger.post(
            transaction,
            refundJournal(ref, { refundAmount: operation.amount }, stamp()),
          );
          return true;
        case 'void':
        case 'expire': {
          if (balance.authorizedHold === 0n) return false;
          const build = operation.kind === 'void' ? voidJournal : expiryJournal;
          await this.ledger.post(transaction, build(ref, { authorized: balance.authorizedHold }, stamp()));
          return true;
        }
        default:
          return operation satisfies never;
      }
    });
  }

  private async authorize(operation: Extract<AuditorOperation, { kind: 'authorize' }>): Promise<boolean> {
    const ref = {
      paymentId: operation.paymentId,
      merchantId: operation.merchantId,
      currency: operation.currency,
    };
    this.refs.set(operation.paymentId, ref);
    if (operation.outcome === 'declined') return true;
    await this.sql.begin(async (transaction) => {
      const journals =
        operation.outcome === 'captured'
          ? authorizeAndCaptureJournals(
              ref,
              { amount: operation.amount },
              { hold: stamp(), capture: stamp() },
            )
          : [authorizationHold(ref, { authorized: operation.amount }, stamp())];
      for (const journal of journals) await this.ledger.post(transaction, journal);
    });
    return true;
  }
}

/** mulberry32: a small seeded generator, so a failing sequence can be replayed from its seed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const currencies: readonly CurrencyCode[] = ['USD', 'JPY', 'KWD'];

function operations(seed: number, count: number, merchantIds: readonly string[]): AuditorOperation[] {
  const random = seededRandom(seed);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const amountUpTo = (maximum: bigint) => 1n + BigInt(Math.floor(random() * Number(maximum)));
  const paymentIds: string[] = [];
  const result: AuditorOperation[] = [];
  for (let index = 0; index < count; index += 1) {
    if (paymentIds.length === 0 || random() < 0.3) {
      const paymentId = newId('pay');
      paymentIds.push(paymentId);
      result.push({
        kind: 'authorize',
        paymentId,
        merchantId: pick(merchantIds),
        currency: pick(currencies),
        amount: random() < 0.05 ? 99_999_999_999n : amountUpTo(2_000n),
        outcome: pick(['approved', 'approved', 'declined', 'captured'] as const),
      });
      continue;
    }
    const paymentId = pick(paymentIds);
    const kind = pick(['capture', 'capture', 'refund', 'refund', 'refund', 'void', 'expire'] as const);
    if (kind === 'void' || kind === 'expire') result.push({ kind, paymentId });
    else result.push({ kind, paymentId, amount: amountUpTo(random() < 0.1 ? 99_999_999_999n : 1_200n) });
  }
  return result;
}

async function accountBalances(sql: Sql, merchantIds: readonly string[]): Promise<Map<string, bigint>> {
  const rows = await sql<{ code: string; balance: bigint }[]>`
    select account.code, sum(posting.amount)::bigint as balance
    from ledger.accounts account join ledger.postings posting on posting.account_id = account.id
    where account.merchant_id in ${sql(merchantIds)}
    group by account.code having sum(posting.amount) <> 0`;
  return new Map(rows.map((row) => [row.code, row.balance]));
}

const runCount = 3;
const operationsPerRun = 120;

test('random payment lives posted to PostgreSQL match the auditor, and verify stays clean', async () => {
  const firstSeed = Number(process.env.PAYFLOW_LEDGER_SEED ?? Date.now() % 1_000_000);
  let accepted = 0;
  let refused = 0;
  for (let run = 0; run < runCount; run += 1) {
    const seed = firstSeed + run;
    const merchantIds = [newId('mer'), newId('mer')];
    const auditor = new LedgerAuditor();
    const driver = new DatabaseDriver(database.sql, ledger);
    const context = `seed ${seed} (replay with PAYFLOW_LEDGER_SEED=${seed})`;
    for (const [index, operation] of operations(seed, operationsPerRun, merchantIds).entries()) {
      const expected = auditor.apply(operation).accepted;
      const actual = await driver.apply(operation);
      assert.equal(actual, expected, `${context}, operation ${index} ${operation.kind}`);
      if (actual) accepted += 1;
      else refused += 1;
    }
    for (const merchantId of merchantIds) {
      assert.deepEqual(
        await ledger.merchantBalances(database.sql, merchantId),
        auditor.expectedMerchantBalance(merchantId),
        `${context}: balances of ${merchantId}`,
      );
    }
    assert.deepEqual(
      await accountBalances(database.sql, merchantIds),
      auditor.expectedAccountBalances(),
      `${context}: account balances`,
    );
    const report = await ledger.verify(database.sql);
    assert.deepEqual(report.violations, [], context);
    assert.equal(report.ok, true);
  }
  // The generator exercises both sides: sequences that only accept (or only refuse) prove little.
  assert.ok(accepted > 50 && refused > 10, `accepted ${accepted}, refused ${refused}`);
});

test('paymentBalance of every payment equals the auditor after a random sequence', async () => {
  const seed = Number(process.env.PAYFLOW_LEDGER_SEED ?? 7_001);
  const merchantIds = [newId('mer')];
  const auditor = new LedgerAuditor();
  const driver = new DatabaseDriver(database.sql, ledger);
  const sequence = operations(seed, 150, merchantIds);
  for (const operation of sequence) {
    assert.equal(await driver.apply(operation), auditor.apply(operation).accepted, `seed ${seed}`);
  }
  for (const paymentId of auditor.paymentIds()) {
    assert.deepEqual(
      await ledger.paymentBalance(database.sql, merchantIds[0]!, paymentId),
      auditor.expectedPaymentBalance(paymentId),
      `seed ${seed}: ${paymentId}`,
    );
  }
});
