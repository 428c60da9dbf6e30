// The settlement job (ADR 19), with batch semantics after Spring Batch: a job instance is its name
// and parameters (`settlement`, `<acquirer>:<date>`); running a completed instance changes nothing
// and says so; the work commits in chunks (one batch of at most SETTLEMENT_CHUNK_SIZE captures and
// refunds of one merchant and currency per chunk: batch row, items marked settled, ledger journal,
// `settlement.completed.v1`, progress, all in one transaction), so a run killed at any point
// resumes from its last committed chunk with every item settled exactly once. One process at a
// time runs an instance (`withAdvisoryLock`: a session lock, released by PostgreSQL if the process dies).
// Then each merchant and currency settled in the run with money available gets one payout.
import { DomainError } from '../../../platform/errors.ts';
import { isDatabaseUnavailable, type Sql, type TransactionSql } from '../../../platform/db/client.ts';
import { withAdvisoryLock } from '../../../platform/db/advisory-lock.ts';
import type { Clock } from '../../../platform/clock.ts';
import type { Logger } from '../../../platform/log.ts';
import { newId } from '../../../platform/ids.ts';
import { totalToJson, type CurrencyCode } from '../../../platform/money.ts';
import type { EventToStage } from '../../events/index.ts';
import { payoutJournal, settlementJournal, type Journal, type MerchantBalance } from '../../ledger/index.ts';
import { batchTotals, cutoffOf, type Pricing } from '../domain/pricing.ts';
import {
  claimJobRun,
  finishJobRun,
  findPricing,
  insertBatch,
  insertPayout,
  lockUnsettledItems,
  nextUnsettledGroup,
  recordChunk,
  restartJobRun,
  settleItems,
  type JobRunRow,
} from '../infra/settlement-repository.ts';

export interface SettlementDependencies {
  readonly sql: Sql;
  readonly clock: Clock;
  readonly log: Pick<Logger, 'info' | 'warn' | 'error'>;
  readonly ledger: {
    post(transaction: TransactionSql, journal: Journal): Promise<void>;
    merchantBalances(sql: TransactionSql, merchantId: string): Promise<readonly MerchantBalance[]>;
  };
  readonly stage: (transaction: TransactionSql, event: EventToStage) => Promise<unknown>;
  readonly defaultPricing: Pricing;
  readonly acquirerCostBps: number;
  readonly chunkSize: number;
  /** The acquirer whose settlement this is (the built-in simulator or ACQUIRER_URL's). */
  readonly acquirer: string;
}

export const settlementJobName = 'settlement';

export interface SettlementRunResult {
  readonly runId: string;
  readonly date: string;
  /** `already_completed`: the instance had completed before; nothing was done. */
  readonly outcome: 'completed' | 'already_completed';
  readonly summary: Record<string, unknown>;
}

export interface SettlementProgress {
  readonly chunks: number;
  readonly items: number;
}

const transientCodes = new Set(['40001', '40P01']);

/** Retries a chunk's transaction on transient errors (database away, serialization), with backoff. */
export async function withRetries<T>(work: () => Promise<T>, log: SettlementDependencies['log']): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const transient =
        isDatabaseUnavailable(error) || (typeof code === 'string' && transientCodes.has(code));
      if (!transient || attempt >= 5) throw error;
      log.warn({ err: error, attempt }, 'settlement: transient database error; retrying the chunk');
      await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
    }
  }
}

export async function runSettlement(
  dependencies: SettlementDependencies,
  date: string,
  onProgress?: (progress: SettlementProgress) => void,
): Promise<SettlementRunResult> {
  let cutoff: Date;
  try {
    cutoff = cutoffOf(date);
  } catch (error) {
    throw new DomainError('invalid_date', 422, (error as Error).message);
  }
  const { sql, clock, log } = dependencies;
  const paramsKey = `${dependencies.acquirer}:${date}`;
  const locked = await withAdvisoryLock(sql, { name: `settlement:${paramsKey}` }, async () => {
    const claimed = await sql.begin(async (transaction) => {
      const { row, created } = await claimJobRun(transaction, {
        id: newId('job'),
        jobName: settlementJobName,
        paramsKey,
        params: { acquirer: dependencies.acquirer, date, cutoff: cutoff.toISOString() },
        now: clock.now(),
      });
      if (!created && row.status !== 'completed') await restartJobRun(transaction, row.id, clock.now());
      return row;
    });
    if (claimed.status === 'completed')
      return {
        runId: claimed.id,
        date,
        outcome: 'already_completed' as const,
        summary: claimed.summary ?? {},
      };
    if (claimed.chunks_done > 0)
      log.info(
        { runId: claimed.id, chunksDone: claimed.chunks_done },
        'settlement: resuming after the last chunk',
      );
    try {
      const summary = await settle(dependencies, claimed, date, cutoff, onProgress);
      await finishJobRun(sql, claimed.id, { status: 'completed', summary }, clock.now());
      return { runId: claimed.id, date, outcome: 'completed' as const, summary };
    } catch (error) {
      await finishJobRun(sql, claimed.id, { status: 'failed', error: String(error) }, clock.now()).catch(
        () => undefined,
      );
      throw error;
    }
  });
  if (!locked.ran)
    throw new DomainError('job_running', 409, `Settlement of ${paramsKey} is running in another process.`);
  return locked.value;
}

async function settle(
  dependencies: SettlementDependencies,
  run: JobRunRow,
  date: string,
  cutoff: Date,
  onProgress?: (progress: SettlementProgress) => void,
): Promise<Record<string, unknown>> {
  const { sql, clock, log } = dependencies;
  let chunks = run.chunks_done;
  let items = Number(run.items_done);
  for (;;) {
    const group = await nextUnsettledGroup(sql, cutoff);
    if (!group) break;
    const settled = await withRetries(
      () => sql.begin((transaction) => settleChunk(dependencies, transaction, run.id, date, cutoff, group)),
      log,
    );
    if (settled === 0) break; // the group's items are locked by a transaction that is not ours
    chunks += 1;
    items += settled;
    onProgress?.({ chunks, items });
  }
  const payouts = await createPayouts(dependencies, run.id);
  const [totals] = await sql<
    { batches: bigint; items: bigint; gross: bigint; refunds: bigint; fees: bigint; acquirer_costs: bigint }[]
  >`
    select count(*)::bigint as batches, coalesce(sum(item_count), 0)::bigint as items,
      coalesce(sum(gross), 0)::bigint as gross, coalesce(sum(refunds), 0)::bigint as refunds,
      coalesce(sum(fees), 0)::bigint as fees, coalesce(sum(acquirer_costs), 0)::bigint as acquirer_costs
    from settlement.batches where run_id = ${run.id}`;
  log.info({ runId: run.id, date, chunks, items, payouts }, 'settlement: completed');
  return {
    cutoff: cutoff.toISOString(),
    batches: Number(totals!.batches),
    items: Number(totals!.items),
    gross: totalToJson(totals!.gross),
    refunds: totalToJson(totals!.refunds),
    fees: totalToJson(totals!.fees),
    acquirerCosts: totalToJson(totals!.acquirer_costs),
    payouts,
    finishedAt: clock.now().toISOString(),
  };
}

async function settleChunk(
  dependencies: SettlementDependencies,
  transaction: TransactionSql,
  runId: string,
  date: string,
  cutoff: Date,
  group: { merchant_id: string; currency: CurrencyCode },
): Promise<number> {
  const now = dependencies.clock.now();
  const rows = await lockUnsettledItems(transaction, {
    merchantId: group.merchant_id,
    currency: group.currency,
    cutoff,
    limit: dependencies.chunkSize,
  });
  if (rows.length === 0) return 0;
  const pricing = (await findPricing(transaction, group.merchant_id)) ?? dependencies.defaultPricing;
  const totals = batchTotals(
    rows.map((row) => ({ id: row.id, kind: row.kind, amount: row.amount })),
    group.currency,
    pricing,
    dependencies.acquirerCostBps,
  );
  const batchId = newId('stl', now.getTime());
  const net = totals.gross - totals.refunds - totals.fees;
  await insertBatch(transaction, {
    id: batchId,
    run_id: runId,
    acquirer: dependencies.acquirer,
    settlement_date: date,
    merchant_id: group.merchant_id,
    currency: group.currency,
    item_count: rows.length,
    gross: totals.gross,
    refunds: totals.refunds,
    fees: totals.fees,
    acquirer_costs: totals.acquirerCosts,
    net,
    journal_id: batchId,
    created_at: now,
  });
  await settleItems(
    transaction,
    batchId,
    rows.map((row) => ({ id: row.id, ...totals.perItem.get(row.id)! })),
  );
  await dependencies.ledger.post(
    transaction,
    settlementJournal(group.merchant_id, group.currency, totals, { journalId: batchId, occurredAt: now }),
  );
  await dependencies.stage(transaction, {
    type: 'settlement.completed.v1',
    aggregateId: batchId,
    merchantId: group.merchant_id,
    payload: {
      batchId,
      settlementDate: date,
      acquirer: dependencies.acquirer,
      currency: group.currency,
      itemCount: rows.length,
      gross: totalToJson(totals.gross),
      refunds: totalToJson(totals.refunds),
      fees: totalToJson(totals.fees),
      net: totalToJson(net),
    },
    occurredAt: now,
  });
  await recordChunk(transaction, runId, rows.length, now);
  return rows.length;
}

/**
 * One payout per merchant and currency settled in the run whose available balance is positive
 * (a negative balance carries over to the next settlement; never a negative payout). Each in its
 * own transaction, serialized per merchant and currency, idempotent per run.
 */
async function createPayouts(dependencies: SettlementDependencies, runId: string): Promise<number> {
  const { sql, clock } = dependencies;
  const groups = await sql<{ merchant_id: string; currency: CurrencyCode }[]>`
    select distinct merchant_id, currency from settlement.batches where run_id = ${runId}
    order by merchant_id, currency`;
  let created = 0;
  for (const group of groups) {
    const made = await withRetries(
      () =>
        sql.begin(async (transaction) => {
          await transaction`
            select pg_advisory_xact_lock(hashtext(${`payout:${group.merchant_id}:${group.currency}`}))`;
          const balances = await dependencies.ledger.merchantBalances(transaction, group.merchant_id);
          const available = balances.find((balance) => balance.currency === group.currency)?.available ?? 0n;
          if (available <= 0n) return false;
          const now = clock.now();
          const payoutId = newId('po', now.getTime());
          const inserted = await insertPayout(transaction, {
            id: payoutId,
            runId,
            merchantId: group.merchant_id,
            currency: group.currency,
            amount: available,
            now,
          });
          if (!inserted) return false;
          await dependencies.ledger.post(
            transaction,
            payoutJournal(group.merchant_id, group.currency, available, 'initiated', {
              journalId: payoutId,
              occurredAt: now,
            }),
          );
          return true;
        }),
      dependencies.log,
    );
    if (made) created += 1;
  }
  return created;
}
