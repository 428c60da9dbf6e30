// SQL of the settlement module (schema `settlement`). No other module's table is read here.
import type { Queryable, TransactionSql } from '../../../platform/db/client.ts';
import type { CurrencyCode } from '../../../platform/money.ts';
import type { Pricing } from '../domain/pricing.ts';

export interface JobRunRow {
  readonly id: string;
  readonly job_name: string;
  readonly params_key: string;
  readonly params: Record<string, unknown>;
  readonly status: 'running' | 'completed' | 'failed';
  readonly chunks_done: number;
  readonly items_done: bigint;
  /** Chunk-step counts (reconciliation): rows read, results written, malformed rows skipped. */
  readonly read_count: bigint;
  readonly write_count: bigint;
  readonly skip_count: bigint;
  /** What a restart needs to resume after the last committed chunk (reconciliation). */
  readonly checkpoint: Record<string, unknown> | null;
  readonly attempts: number;
  readonly summary: Record<string, unknown> | null;
  readonly last_error: string | null;
  readonly started_at: Date;
  readonly updated_at: Date;
  readonly finished_at: Date | null;
}

export async function insertItem(
  sql: Queryable,
  item: {
    id: string;
    operationId: string;
    merchantId: string;
    currency: string;
    paymentId: string;
    kind: 'capture' | 'refund';
    amount: bigint;
    occurredAt: Date;
  },
): Promise<void> {
  await sql`
    insert into settlement.items (id, operation_id, merchant_id, currency, payment_id, kind, amount, occurred_at)
    values (${item.id}, ${item.operationId}, ${item.merchantId}, ${item.currency}, ${item.paymentId}, ${item.kind},
            ${item.amount}, ${item.occurredAt})
    on conflict (id, merchant_id) do nothing`;
}

export async function findPricing(sql: Queryable, merchantId: string): Promise<Pricing | undefined> {
  const [row] = await sql<{ percent_bps: number; fixed_fees: Record<string, string> }[]>`
    select percent_bps, fixed_fees from settlement.pricing where merchant_id = ${merchantId}`;
  if (!row) return undefined;
  const fixedFees: Partial<Record<CurrencyCode, bigint>> = {};
  for (const [currency, amount] of Object.entries(row.fixed_fees))
    fixedFees[currency as CurrencyCode] = BigInt(amount);
  return { percentBps: row.percent_bps, fixedFees };
}

export async function upsertPricing(
  sql: Queryable,
  merchantId: string,
  pricing: Pricing,
  now: Date,
): Promise<void> {
  const fixed = Object.fromEntries(
    Object.entries(pricing.fixedFees).map(([key, value]) => [key, String(value)]),
  );
  await sql`
    insert into settlement.pricing (merchant_id, percent_bps, fixed_fees, updated_at)
    values (${merchantId}, ${pricing.percentBps}, ${sql.json(fixed)}, ${now})
    on conflict (merchant_id) do update
      set percent_bps = excluded.percent_bps, fixed_fees = excluded.fixed_fees, updated_at = excluded.updated_at`;
}

/** The job instance for (name, params key), created if absent, locked for this transaction. */
export async function claimJobRun(
  transaction: TransactionSql,
  run: { id: string; jobName: string; paramsKey: string; params: Record<string, unknown>; now: Date },
): Promise<{ row: JobRunRow; created: boolean }> {
  const inserted = await transaction<JobRunRow[]>`
    insert into settlement.job_runs (id, job_name, params_key, params, status, started_at, updated_at)
    values (${run.id}, ${run.jobName}, ${run.paramsKey}, ${transaction.json(run.params as never)}, 'running',
            ${run.now}, ${run.now})
    on conflict (job_name, params_key) do nothing
    returning *`;
  if (inserted[0]) return { row: inserted[0], created: true };
  const [row] = await transaction<JobRunRow[]>`
    select * from settlement.job_runs where job_name = ${run.jobName} and params_key = ${run.paramsKey} for update`;
  return { row: row!, created: false };
}

export async function restartJobRun(transaction: TransactionSql, id: string, now: Date): Promise<void> {
  await transaction`
    update settlement.job_runs set status = 'running', attempts = attempts + 1, last_error = null, updated_at = ${now}
    where id = ${id} and status <> 'completed'`;
}

export async function recordChunk(
  transaction: TransactionSql,
  runId: string,
  items: number,
  now: Date,
): Promise<void> {
  await transaction`
    update settlement.job_runs set chunks_done = chunks_done + 1, items_done = items_done + ${items}, updated_at = ${now}
    where id = ${runId}`;
}

export async function finishJobRun(
  sql: Queryable,
  runId: string,
  outcome: { status: 'completed'; summary: Record<string, unknown> } | { status: 'failed'; error: string },
  now: Date,
): Promise<void> {
  if (outcome.status === 'completed')
    await sql`
      update settlement.job_runs set status = 'completed', summary = ${sql.json(outcome.summary as never)},
        updated_at = ${now}, finished_at = ${now}
      where id = ${runId}`;
  else
    await sql`
      update settlement.job_runs set status = 'failed', last_error = ${outcome.error.slice(0, 2000)}, updated_at = ${now}
      where id = ${runId} and status = 'running'`;
}

export async function findJobRun(sql: Queryable, idOrKey: string): Promise<JobRunRow | undefined> {
  const [row] = await sql<JobRunRow[]>`
    select * from settlement.job_runs where id = ${idOrKey} or params_key = ${idOrKey}
    order by started_at desc limit 1`;
  return row;
}

export async function listJobRuns(sql: Queryable, limit: number): Promise<readonly JobRunRow[]> {
  return sql<JobRunRow[]>`select * from settlement.job_runs order by started_at desc, id desc limit ${limit}`;
}

export interface ItemRow {
  readonly id: string;
  readonly payment_id: string;
  readonly kind: 'capture' | 'refund';
  readonly amount: bigint;
  readonly occurred_at: Date;
}

/** The next merchant and currency with unsettled items before the cutoff, or undefined. */
export async function nextUnsettledGroup(
  sql: Queryable,
  cutoff: Date,
): Promise<{ merchant_id: string; currency: CurrencyCode } | undefined> {
  const [row] = await sql<{ merchant_id: string; currency: CurrencyCode }[]>`
    select merchant_id, currency from settlement.items
    where batch_id is null and occurred_at < ${cutoff}
    order by merchant_id, currency limit 1`;
  return row;
}

/** Up to `limit` unsettled items of one merchant and currency, locked (others skip them). */
export async function lockUnsettledItems(
  transaction: TransactionSql,
  group: { merchantId: string; currency: string; cutoff: Date; limit: number },
): Promise<readonly ItemRow[]> {
  return transaction<ItemRow[]>`
    select id, payment_id, kind, amount, occurred_at from settlement.items
    where merchant_id = ${group.merchantId} and currency = ${group.currency}
      and batch_id is null and occurred_at < ${group.cutoff}
    order by occurred_at, id limit ${group.limit}
    for update skip locked`;
}

export interface BatchRow {
  readonly id: string;
  readonly run_id: string;
  readonly acquirer: string;
  readonly settlement_date: string;
  readonly merchant_id: string;
  readonly currency: CurrencyCode;
  readonly item_count: number;
  readonly gross: bigint;
  readonly refunds: bigint;
  readonly fees: bigint;
  readonly acquirer_costs: bigint;
  readonly net: bigint;
  readonly journal_id: string;
  readonly created_at: Date;
}

export async function insertBatch(transaction: TransactionSql, batch: BatchRow): Promise<void> {
  await transaction`
    insert into settlement.batches (id, run_id, acquirer, settlement_date, merchant_id, currency, item_count,
      gross, refunds, fees, acquirer_costs, net, journal_id, created_at)
    values (${batch.id}, ${batch.run_id}, ${batch.acquirer}, ${batch.settlement_date}, ${batch.merchant_id},
      ${batch.currency}, ${batch.item_count}, ${batch.gross}, ${batch.refunds}, ${batch.fees},
      ${batch.acquirer_costs}, ${batch.net}, ${batch.journal_id}, ${batch.created_at})`;
}

export async function settleItems(
  transaction: TransactionSql,
  batchId: string,
  items: readonly { id: string; fee: bigint; acquirerCost: bigint }[],
): Promise<void> {
  if (items.length === 0) return;
  await transaction`
    update settlement.items as item set batch_id = ${batchId}, fee = settled.fee::bigint,
      acquirer_cost = settled.acquirer_cost::bigint
    from (select unnest(${items.map((item) => item.id)}::text[]) as id,
                 unnest(${items.map((item) => item.fee.toString())}::text[]) as fee,
                 unnest(${items.map((item) => item.acquirerCost.toString())}::text[]) as acquirer_cost) as settled
    where item.id = settled.id and item.batch_id is null`;
}

const batchColumns = `id, run_id, acquirer, to_char(settlement_date, 'YYYY-MM-DD') as settlement_date, merchant_id,
  currency, item_count, gross, refunds, fees, acquirer_costs, net, journal_id, created_at`;

export async function listBatches(
  sql: Queryable,
  filter: { merchantId?: string; runId?: string; limit: number },
): Promise<readonly BatchRow[]> {
  return sql<BatchRow[]>`
    select ${sql.unsafe(batchColumns)} from settlement.batches
    where (${filter.merchantId ?? null}::text is null or merchant_id = ${filter.merchantId ?? null})
      and (${filter.runId ?? null}::text is null or run_id = ${filter.runId ?? null})
    order by created_at desc, id desc limit ${filter.limit}`;
}

export async function findBatch(
  sql: Queryable,
  id: string,
  merchantId?: string,
): Promise<BatchRow | undefined> {
  const [row] = await sql<BatchRow[]>`
    select ${sql.unsafe(batchColumns)} from settlement.batches
    where id = ${id} and (${merchantId ?? null}::text is null or merchant_id = ${merchantId ?? null})`;
  return row;
}

export async function batchLines(
  sql: Queryable,
  batchId: string,
): Promise<readonly (ItemRow & { fee: bigint; acquirer_cost: bigint })[]> {
  return sql<(ItemRow & { fee: bigint; acquirer_cost: bigint })[]>`
    select id, payment_id, kind, amount, fee, acquirer_cost, occurred_at from settlement.items
    where batch_id = ${batchId} order by occurred_at, id`;
}

export interface PayoutRow {
  readonly id: string;
  readonly run_id: string | null;
  readonly merchant_id: string;
  readonly currency: CurrencyCode;
  readonly amount: bigint;
  readonly status: 'pending' | 'in_transit' | 'paid' | 'failed';
  readonly failure_reason: string | null;
  readonly created_at: Date;
  readonly updated_at: Date;
  readonly sent_at: Date | null;
  readonly finished_at: Date | null;
}

export async function insertPayout(
  transaction: TransactionSql,
  payout: { id: string; runId: string; merchantId: string; currency: string; amount: bigint; now: Date },
): Promise<boolean> {
  const rows = await transaction`
    insert into settlement.payouts (id, run_id, merchant_id, currency, amount, status, created_at, updated_at)
    values (${payout.id}, ${payout.runId}, ${payout.merchantId}, ${payout.currency}, ${payout.amount}, 'pending',
            ${payout.now}, ${payout.now})
    on conflict (run_id, merchant_id, currency) do nothing returning id`;
  return rows.length === 1;
}

export async function listPayouts(
  sql: Queryable,
  filter: { merchantId?: string; limit: number },
): Promise<readonly PayoutRow[]> {
  return sql<PayoutRow[]>`
    select * from settlement.payouts
    where (${filter.merchantId ?? null}::text is null or merchant_id = ${filter.merchantId ?? null})
    order by created_at desc, id desc limit ${filter.limit}`;
}

export async function findPayout(
  sql: Queryable,
  id: string,
  merchantId?: string,
): Promise<PayoutRow | undefined> {
  const [row] = await sql<PayoutRow[]>`
    select * from settlement.payouts
    where id = ${id} and (${merchantId ?? null}::text is null or merchant_id = ${merchantId ?? null})`;
  return row;
}

/** Open payouts (pending or in transit), oldest first. */
export async function openPayouts(sql: Queryable, limit: number): Promise<readonly PayoutRow[]> {
  return sql<PayoutRow[]>`
    select * from settlement.payouts where status in ('pending', 'in_transit')
    order by updated_at, id limit ${limit}`;
}

export async function lockPayout(transaction: TransactionSql, id: string): Promise<PayoutRow | undefined> {
  const [row] = await transaction<PayoutRow[]>`select * from settlement.payouts where id = ${id} for update`;
  return row;
}

export async function updatePayout(
  transaction: TransactionSql,
  id: string,
  change: { status: PayoutRow['status']; failureReason?: string; now: Date },
): Promise<void> {
  const finished = change.status === 'paid' || change.status === 'failed';
  await transaction`
    update settlement.payouts set status = ${change.status}, failure_reason = ${change.failureReason ?? null},
      updated_at = ${change.now},
      sent_at = case when ${change.status} = 'in_transit' then ${change.now} else sent_at end,
      finished_at = ${finished ? change.now : null}
    where id = ${id}`;
}

export interface SettlementViolation {
  readonly check: string;
  readonly detail: string;
}

/**
 * The settlement invariants that the schema cannot state alone: each batch's totals are its items'
 * sums, and per merchant and currency, payouts not failed never exceed the net settled.
 */
export async function settlementViolations(sql: Queryable): Promise<SettlementViolation[]> {
  const violations: SettlementViolation[] = [];
  const batches = await sql<{ id: string }[]>`
    select b.id from settlement.batches b
    left join (select batch_id, count(*) as n,
                 coalesce(sum(amount) filter (where kind = 'capture'), 0) as gross,
                 coalesce(sum(amount) filter (where kind = 'refund'), 0) as refunds,
                 coalesce(sum(fee), 0) as fees,
                 coalesce(sum(acquirer_cost), 0) as costs
               from settlement.items where batch_id is not null group by batch_id) i on i.batch_id = b.id
    where i.batch_id is null or i.n <> b.item_count or i.gross <> b.gross or i.refunds <> b.refunds
       or i.fees <> b.fees or i.costs <> b.acquirer_costs
    order by b.id`;
  for (const batch of batches)
    violations.push({ check: 'batch_totals', detail: `batch ${batch.id} differs from the sum of its items` });
  const overpaid = await sql<{ merchant_id: string; currency: string; paid: bigint; net: bigint }[]>`
    select p.merchant_id, p.currency, p.paid, coalesce(b.net, 0)::bigint as net
    from (select merchant_id, currency, sum(amount)::bigint as paid from settlement.payouts
          where status <> 'failed' group by merchant_id, currency) p
    left join (select merchant_id, currency, sum(net) as net from settlement.batches
               group by merchant_id, currency) b using (merchant_id, currency)
    where p.paid > coalesce(b.net, 0)
    order by p.merchant_id, p.currency`;
  for (const row of overpaid)
    violations.push({
      check: 'payouts_within_settled',
      detail: `${row.merchant_id} ${row.currency}: payouts ${row.paid} exceed the net settled ${row.net}`,
    });
  return violations;
}

/** Settlement's own record per merchant and currency, to compare with the ledger's positions. */
export interface SettlementRecord {
  readonly merchantId: string;
  readonly currency: string;
  readonly unsettledCaptures: bigint;
  readonly unsettledRefunds: bigint;
  readonly settledGross: bigint;
  readonly settledRefunds: bigint;
  readonly settledNet: bigint;
  /** Payouts not failed (pending, in transit, paid). */
  readonly paidOut: bigint;
  /** Chargebacks charged to the merchant by reconciliation adjustments. */
  readonly chargebacks: bigint;
}

export async function settlementRecords(sql: Queryable): Promise<readonly SettlementRecord[]> {
  const rows = await sql<
    {
      merchant_id: string;
      currency: string;
      unsettled_captures: bigint;
      unsettled_refunds: bigint;
      settled_gross: bigint;
      settled_refunds: bigint;
      settled_net: bigint;
      paid_out: bigint;
      chargebacks: bigint;
    }[]
  >`
    with unsettled as (
      select merchant_id, currency,
        sum(amount) filter (where kind = 'capture') as captures,
        sum(amount) filter (where kind = 'refund') as refunds
      from settlement.items where batch_id is null group by merchant_id, currency),
    settled as (
      select merchant_id, currency, sum(gross) as gross, sum(refunds) as refunds, sum(net) as net
      from settlement.batches group by merchant_id, currency),
    paid as (
      select merchant_id, currency, sum(amount) as amount from settlement.payouts
      where status <> 'failed' group by merchant_id, currency),
    charged as (
      select item.merchant_id, item.currency, sum(result.adjustment_amount) as amount
      from settlement.reconciliation_results result join settlement.items item on item.id = result.item_id
      where result.adjustment = 'merchant_chargeback' group by item.merchant_id, item.currency),
    pairs as (
      select merchant_id, currency from unsettled union select merchant_id, currency from settled
      union select merchant_id, currency from paid union select merchant_id, currency from charged)
    select pairs.merchant_id, pairs.currency,
      coalesce(unsettled.captures, 0)::bigint as unsettled_captures,
      coalesce(unsettled.refunds, 0)::bigint as unsettled_refunds,
      coalesce(settled.gross, 0)::bigint as settled_gross, coalesce(settled.refunds, 0)::bigint as settled_refunds,
      coalesce(settled.net, 0)::bigint as settled_net, coalesce(paid.amount, 0)::bigint as paid_out,
      coalesce(charged.amount, 0)::bigint as chargebacks
    from pairs
    left join unsettled using (merchant_id, currency) left join settled using (merchant_id, currency)
    left join paid using (merchant_id, currency) left join charged using (merchant_id, currency)
    order by pairs.merchant_id, pairs.currency`;
  return rows.map((row) => ({
    merchantId: row.merchant_id,
    currency: row.currency,
    unsettledCaptures: row.unsettled_captures,
    unsettledRefunds: row.unsettled_refunds,
    settledGross: row.settled_gross,
    settledRefunds: row.settled_refunds,
    settledNet: row.settled_net,
    paidOut: row.paid_out,
    chargebacks: row.chargebacks,
  }));
}

/** A job run as the CLI (`payflow jobs list|show`) and GET /v1/admin/settlement/runs show it. */
export function jobRunView(row: JobRunRow) {
  return {
    id: row.id,
    job: row.job_name,
    parameters: row.params_key,
    status: row.status,
    chunksDone: row.chunks_done,
    itemsDone: Number(row.items_done),
    ...(row.job_name !== 'settlement' && {
      readCount: Number(row.read_count),
      writeCount: Number(row.write_count),
      skipCount: Number(row.skip_count),
      lastCommittedLine: (row.checkpoint?.['line'] as number | undefined) ?? null,
    }),
    attempts: row.attempts,
    startedAt: row.started_at.toISOString(),
    finishedAt: row.finished_at?.toISOString() ?? null,
    ...(row.last_error !== null && { lastError: row.last_error }),
    ...(row.summary !== null && { summary: row.summary }),
  };
}

export interface ReconciliationResultRow {
  readonly id: string;
  readonly outcome: string;
  readonly status: 'none' | 'open' | 'resolved';
  readonly reference: string | null;
  readonly currency: CurrencyCode | null;
  readonly expected_amount: bigint | null;
  readonly reported_amount: bigint | null;
  /** The settlement item the row names, when PayFlow knows it. */
  readonly item_id: string | null;
  readonly item_kind: 'capture' | 'refund' | null;
  readonly item_merchant_id: string | null;
  readonly item_currency: CurrencyCode | null;
  readonly item_payment_id: string | null;
}

/** A reconciliation result with the item it names, locked until the transaction ends. */
export async function lockReconciliationResult(
  transaction: TransactionSql,
  id: string,
): Promise<ReconciliationResultRow | undefined> {
  const [row] = await transaction<ReconciliationResultRow[]>`
    select result.id, result.outcome, result.status, result.reference, result.currency, result.expected_amount,
      result.reported_amount, result.item_id, item.kind as item_kind, item.merchant_id as item_merchant_id,
      item.currency as item_currency, item.payment_id as item_payment_id
    from settlement.reconciliation_results result
    left join settlement.items item on item.id = result.item_id
    where result.id = ${id}
    for update of result`;
  return row;
}

export async function resolveReconciliationResult(
  transaction: TransactionSql,
  id: string,
  resolution: {
    reason: string;
    now: Date;
    adjustment?: { kind: string; journalId: string; amount: bigint };
  },
): Promise<void> {
  await transaction`
    update settlement.reconciliation_results
    set status = 'resolved', resolution = ${resolution.reason}, resolved_at = ${resolution.now},
      adjustment = ${resolution.adjustment?.kind ?? null},
      adjustment_journal_id = ${resolution.adjustment?.journalId ?? null},
      adjustment_amount = ${resolution.adjustment?.amount ?? null}
    where id = ${id} and status = 'open'`;
}

/** Open `missing_in_report` exceptions of an item a later report settled: resolved as late. */
export async function resolveSettledLate(
  transaction: TransactionSql,
  itemId: string,
  resolution: { reason: string; now: Date },
): Promise<number> {
  const rows = await transaction`
    update settlement.reconciliation_results
    set status = 'resolved', resolution = ${resolution.reason}, resolved_at = ${resolution.now}
    where item_id = ${itemId} and outcome = 'missing_in_report' and status = 'open'
    returning id`;
  return rows.length;
}
