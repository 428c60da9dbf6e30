// `npm run bench -- --settlement [N,…]` (issue 11): the settlement job and the reconciliation import
// over N captured payments, for each N (default 10k, 100k, 1M), each in a fresh database of its own
// (payflow_bench_settlement_<pid>_<n>, created on TEST_DATABASE_URL's or DATABASE_URL's server, or on an
// embedded PostgreSQL the bench starts when neither is set,
// migrated, dropped at the end; never the server's `postgres` database itself).
//   1. Seed, set-based SQL (generate_series): N captured payments with what the capture path leaves
//      behind: the payment row, its authorization-hold and capture journals with their postings, and
//      the settlement item the `settlement` consumer records from `payment.captured.v1`. Twenty
//      merchant currencies (10 merchants × USD, EUR), all captured on one day.
//   2. The acquirer's report of that day, N Settled rows, written by the simulator's own report
//      writer (SettlementReportWriter) to a temporary file, streamed (never whole in memory).
//   3. Timed: the settlement job for that day and the reconciliation of the report, through the
//      entry points `payflow settlement run` and `payflow reconcile --file` call (runSettlement,
//      reconcileReport with settlementDependencies), in this process: rows/s, seconds, peak RSS.
//   4. Checked: every item settled once, batch totals and payouts to the minor unit against sums
//      computed independently in SQL, every report row matched and no other outcome. A fast wrong
//      answer fails the bench (exit code 1).
//   5. Ceilings measured in the same run: one set-based UPDATE settling the same rows (rolled back),
//      and COPY of the report into a staging table with one join matching it against the items.
// `--settlement-fault missing` leaves one row out of the report (the simulator's fault), so the
// check must fail: the bench's own test uses it.
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import postgres from 'postgres';
import { moduleMigrations } from '../src/apps/platform.ts';
import { reconcileReport, runSettlement, settlementDependencies } from '../src/modules/settlement/index.ts';
import { systemClock } from '../src/platform/clock.ts';
import { loadConfiguration } from '../src/apps/configuration.ts';
import { createSql, type Sql } from '../src/platform/db/client.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { createLogger } from '../src/platform/log.ts';
import { SettlementReportWriter } from '../src/simulator/settlement-report.ts';
import { openBenchDatabase } from './database.ts';

const defaultSizes = [10_000, 100_000, 1_000_000];
const merchants = 10;
const currencies = ['USD', 'EUR'] as const;
const targetSeconds = 60;
const targetRssMb = 300;

/** The sizes `--settlement` asks for (`10k,100k,1M`, `2000`; none: the three defaults), or undefined. */
export function settlementSizes(argv: readonly string[]): number[] | undefined {
  const index = argv.findIndex((arg) => arg === '--settlement' || arg.startsWith('--settlement='));
  if (index < 0) return undefined;
  const arg = argv[index]!;
  const text = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[index + 1];
  if (text === undefined || text.startsWith('--')) return defaultSizes;
  return text.split(',').map((part) => {
    const match = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(part.trim().replaceAll('_', ''));
    const size = match ? Number(match[1]) * ({ k: 1e3, m: 1e6 }[match[2]!.toLowerCase()] ?? 1) : NaN;
    if (!Number.isSafeInteger(size) || size < 1 || size > 10_000_000)
      throw new Error(`--settlement: "${part}" is not a number of rows (e.g. 2000, 10k, 1M)`);
    return size;
  });
}

function optionValue(argv: readonly string[], name: string): string | undefined {
  const index = argv.findIndex((arg) => arg === name || arg.startsWith(`${name}=`));
  if (index < 0) return undefined;
  const arg = argv[index]!;
  return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[index + 1];
}

/** Peak RSS while `work` runs: sampled every 20 ms, and the process's high-water mark after it. */
async function measured<T>(
  work: () => Promise<T>,
): Promise<{ value: T; seconds: number; peakRssMb: number; maxRssMb: number; load: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  const started = performance.now();
  try {
    const value = await work();
    const seconds = (performance.now() - started) / 1000;
    peak = Math.max(peak, process.memoryUsage.rss());
    return {
      value,
      seconds,
      peakRssMb: Math.round(peak / 2 ** 20),
      maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      load: os.loadavg()[0]!,
    };
  } finally {
    clearInterval(timer);
  }
}

/** The day the bench's payments were captured on: yesterday (UTC). */
function benchDate(): string {
  return new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
}

/**
 * N captured payments as the capture path leaves them, set-based, in slices of 100,000 payments per
 * transaction.
 */
async function seed(sql: Sql, n: number, date: string): Promise<void> {
  const day = `${date}T00:00:00Z`;
  await sql`
    insert into ledger.accounts (code, merchant_id, currency, role, normal_side)
    select 'merchant:' || merchant || ':' || currency || ':' || role, merchant, currency, role,
      case when role in ('authorization_holds', 'receivable_from_acquirer') then 'debit' else 'credit' end
    from generate_series(0, ${merchants - 1}) m, lateral (select 'mer_bench_' || m as merchant) mm,
      unnest(${[...currencies]}::text[]) currency,
      unnest(array['authorization_holds', 'authorization_hold_contra', 'receivable_from_acquirer', 'payable']) role`;
  const [role] = await sql<{ superuser: boolean }[]>`
    select rolsuper as superuser from pg_roles where rolname = current_user`;
  const superuser = role?.superuser === true;
  const slice = 100_000;
  for (let from = 1; from <= n; from += slice) {
    const to = Math.min(n, from + slice - 1);
    await sql.begin(async (transaction) => {
      // The rows are balanced by construction (checked after the run: every journal balanced); the
      // ledger's per-journal commit-time checks and the foreign keys' per-row triggers would cost the
      // seed minutes at 1M, so a superuser seeds with triggers off (replica role), anyone else with.
      if (superuser) await transaction`set local session_replication_role = replica`;
      // i → merchant i % 10, currency by (i / 10) % 2, amount 1.00..1000.00, spread over the day.
      await transaction`
        create temp table bench_payments on commit drop as
        select 'pay_' || lpad(i::text, 26, '0') as id, 'mer_bench_' || (i % ${merchants}) as merchant_id,
          (${[...currencies]}::text[])[1 + (i / ${merchants}) % 2] as currency,
          (100 + (i::bigint * 7919) % 99901) as amount,
          ${day}::timestamptz + make_interval(secs => (i - 1) * 86399.0 / ${n}) as at, i
        from generate_series(${from}::bigint, ${to}::bigint) i`;
      await transaction`
        insert into payments.payments (id, merchant_id, amount, currency, method, token, capture_on_authorize,
          status, authorized_amount, captured_amount, version, processor_reference, acquirer_authorization_id,
          created_at, updated_at, authorized_at, captured_at)
        select id, merchant_id, amount, currency, 'card', 'tok_bench_' || (i % 200), false, 'CAPTURED', amount,
          amount, 2, id || '.authorization', 'AUTH' || i, at - interval '1 minute', at,
          at - interval '1 minute', at
        from bench_payments`;
      await transaction`
        insert into ledger.journals (id, kind, payment_id, merchant_id, occurred_at)
        select 'jnl_h' || lpad(i::text, 25, '0'), 'authorization_hold', id, merchant_id, at - interval '1 minute'
        from bench_payments
        union all
        select 'jnl_c' || lpad(i::text, 25, '0'), 'capture', id, merchant_id, at from bench_payments`;
      await transaction`
        insert into ledger.postings (journal_id, merchant_id, sequence, account_id, currency, amount)
        select posting.journal_id, p.merchant_id, posting.sequence, account.id, p.currency, posting.amount
        from bench_payments p
        cross join lateral (values
          ('jnl_h' || lpad(p.i::text, 25, '0'), 0, 'authorization_holds', p.amount),
          ('jnl_h' || lpad(p.i::text, 25, '0'), 1, 'authorization_hold_contra', -p.amount),
          ('jnl_c' || lpad(p.i::text, 25, '0'), 0, 'authorization_holds', -p.amount),
          ('jnl_c' || lpad(p.i::text, 25, '0'), 1, 'authorization_hold_contra', p.amount),
          ('jnl_c' || lpad(p.i::text, 25, '0'), 2, 'receivable_from_acquirer', p.amount),
          ('jnl_c' || lpad(p.i::text, 25, '0'), 3, 'payable', -p.amount)
        ) as posting (journal_id, sequence, role, amount)
        join ledger.accounts account
          on account.code = 'merchant:' || p.merchant_id || ':' || p.currency || ':' || posting.role`;
      await transaction`
        insert into settlement.items (id, operation_id, merchant_id, currency, payment_id, kind, amount, occurred_at)
        select 'evt_' || lpad(i::text, 26, '0'), id, merchant_id, currency, id, 'capture', amount, at
        from bench_payments`;
    });
  }
  await sql`vacuum analyze settlement.items`;
  await sql`analyze ledger.postings`;
  await sql`analyze ledger.journals`;
}

/** The acquirer's report of the seeded day, streamed to `file` by the simulator's report writer. */
async function writeReport(
  sql: Sql,
  file: string,
  date: string,
  costBps: number,
  fault: string | undefined,
): Promise<void> {
  const [first] = await sql<{ id: string }[]>`
    select payment_id as id from settlement.items order by occurred_at, id limit 1`;
  const writer = new SettlementReportWriter({
    date,
    batchNumber: 1,
    costBps,
    ...(fault === 'missing' && first && { faults: { missing: [`${first.id}.capture`] } }),
  });
  const out = createWriteStream(file);
  const write = async (text: string) => {
    if (text !== '' && !out.write(text)) await once(out, 'drain');
  };
  await write(writer.header());
  const cursor = sql<{ payment_id: string; amount: bigint; currency: string; at_ms: number }[]>`
    select payment_id, amount, currency, (extract(epoch from occurred_at) * 1000)::float8 as at_ms
    from settlement.items order by occurred_at, id`.cursor(5_000);
  let index = 0;
  for await (const rows of cursor) {
    let text = '';
    for (const row of rows) {
      index += 1;
      text += writer.entry({
        kind: 'capture',
        reference: `${row.payment_id}.capture`,
        pspReference: `PSP${String(index).padStart(12, '0')}`,
        amount: row.amount,
        currency: row.currency,
        atMs: row.at_ms,
      });
    }
    await write(text);
  }
  await write(writer.end());
  out.end();
  await once(out, 'finish');
}

/** Settles the same rows in one set-based statement pair, rolled back: what the database alone needs. */
async function settlementCeiling(sql: Sql, date: string, feeBps: number, costBps: number): Promise<number> {
  const cutoff = new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000);
  let settled = 0;
  await sql
    .begin(async (transaction) => {
      await transaction`
        insert into settlement.job_runs (id, job_name, params_key, params, status, started_at, updated_at)
        values ('job_00000000000000000000000000', 'ceiling', 'ceiling', '{}', 'running', now(), now())`;
      await transaction`
        insert into settlement.batches (id, run_id, acquirer, settlement_date, merchant_id, currency, item_count,
          gross, refunds, fees, acquirer_costs, net, journal_id, created_at)
        select 'stl_' || lpad(row_number() over ()::text, 26, '0'), 'job_00000000000000000000000000',
          'simulator', ${date}, merchant_id, currency, count(*), sum(amount), 0, 0, 0, sum(amount),
          'ceiling_' || row_number() over (), now()
        from settlement.items where batch_id is null and occurred_at < ${cutoff}
        group by merchant_id, currency`;
      const updated = await transaction`
        update settlement.items item
        set batch_id = batch.id, fee = (item.amount * ${feeBps} * 2 + 10000) / 20000,
          acquirer_cost = (item.amount * ${costBps} * 2 + 10000) / 20000
        from settlement.batches batch
        where batch.run_id = 'job_00000000000000000000000000' and batch.merchant_id = item.merchant_id
          and batch.currency = item.currency and item.batch_id is null and item.occurred_at < ${cutoff}`;
      settled = updated.count;
      throw new Rollback();
    })
    .catch((error: unknown) => {
      if (!(error instanceof Rollback)) throw error;
    });
  await sql`vacuum settlement.items`;
  return settled;
}

class Rollback extends Error {}

/** COPY of the report into a staging table, and one join matching its rows to the items. */
async function reconciliationCeiling(sql: Sql, file: string): Promise<number> {
  let matched = 0;
  await sql.begin(async (transaction) => {
    await transaction`
      create temp table bench_report (company text, merchant_account text, psp text, reference text,
        method text, created text, tz text, type text, modification text, gross_currency text,
        gross_debit text, gross_credit text, rate text, net_currency text, net_debit text, net_credit text,
        commission text, markup text, scheme text, interchange text, batch text) on commit drop`;
    const writable =
      await transaction`copy bench_report from stdin with (format csv, header true)`.writable();
    await pipeline(createReadStream(file), writable);
    const [row] = await transaction<{ matched: bigint }[]>`
      select count(*)::bigint as matched from bench_report report
      join settlement.items item on item.operation_id = split_part(report.reference, '.', 1)
        and item.kind = 'capture' and item.currency = report.gross_currency
        and item.amount = replace(report.gross_credit, '.', '')::bigint
      where report.type = 'Settled'`;
    matched = Number(row!.matched);
  });
  return matched;
}

interface Expected {
  items: bigint;
  gross: bigint;
  fees: bigint;
  costs: bigint;
}

/** What the settlement must come to, summed in SQL from the items with the default price. */
async function expectedTotals(
  sql: Sql,
  feeBps: number,
  fixed: Readonly<Record<string, bigint>>,
  costBps: number,
): Promise<Expected> {
  const [row] = await sql<Expected[]>`
    select count(*)::bigint as items, sum(amount)::bigint as gross,
      sum((amount * ${feeBps} * 2 + 10000) / 20000
          + coalesce((${sql.json(Object.fromEntries(Object.entries(fixed).map(([k, v]) => [k, String(v)])))}::jsonb
                      ->> currency)::bigint, 0))::bigint as fees,
      sum((amount * ${costBps} * 2 + 10000) / 20000)::bigint as costs
    from settlement.items`;
  return row!;
}

/** Every settled figure against the expected sums; the problems found (none: right). */
async function checkSettlement(sql: Sql, runId: string, expected: Expected): Promise<string[]> {
  const problems: string[] = [];
  const [row] = await sql<
    {
      unsettled: bigint;
      items: bigint;
      gross: bigint;
      fees: bigint;
      costs: bigint;
      item_fees: bigint;
      payouts: bigint;
      paid: bigint;
      pairs: bigint;
      unbalanced: bigint;
    }[]
  >`
    select (select count(*) from settlement.items where batch_id is null)::bigint as unsettled,
      (select coalesce(sum(item_count), 0) from settlement.batches where run_id = ${runId})::bigint as items,
      (select coalesce(sum(gross), 0) from settlement.batches where run_id = ${runId})::bigint as gross,
      (select coalesce(sum(fees), 0) from settlement.batches where run_id = ${runId})::bigint as fees,
      (select coalesce(sum(acquirer_costs), 0) from settlement.batches where run_id = ${runId})::bigint as costs,
      (select coalesce(sum(fee), 0) from settlement.items)::bigint as item_fees,
      (select count(*) from settlement.payouts where run_id = ${runId})::bigint as payouts,
      (select coalesce(sum(amount), 0) from settlement.payouts where run_id = ${runId})::bigint as paid,
      (select count(distinct (merchant_id, currency)) from settlement.items)::bigint as pairs,
      (select count(*) from (select journal_id from ledger.postings group by journal_id
                             having sum(amount) <> 0) j)::bigint as unbalanced`;
  const check = (name: string, got: bigint, want: bigint) => {
    if (got !== want) problems.push(`${name}: ${got}, expected ${want}`);
  };
  check('items left unsettled', row!.unsettled, 0n);
  check('items in the run', row!.items, expected.items);
  check('gross', row!.gross, expected.gross);
  check('fees', row!.fees, expected.fees);
  check("items' fees", row!.item_fees, expected.fees);
  check('acquirer costs', row!.costs, expected.costs);
  check('payouts', row!.payouts, row!.pairs);
  check('paid out (gross less fees)', row!.paid, expected.gross - expected.fees);
  check('unbalanced journals', row!.unbalanced, 0n);
  return problems;
}

interface Phase {
  readonly name: string;
  readonly rows: number;
  readonly seconds: number;
  readonly peakRssMb?: number;
  readonly maxRssMb?: number;
  readonly load: number;
}

function printPhases(phases: readonly Phase[]): void {
  const header = ['phase', 'rows', 'seconds', 'rows/s', 'peak RSS MB', 'max RSS MB', 'load avg'];
  const lines = phases.map((phase) => [
    phase.name,
    phase.rows.toLocaleString('en'),
    phase.seconds.toFixed(2),
    Math.round(phase.rows / Math.max(phase.seconds, 1e-9)).toLocaleString('en'),
    phase.peakRssMb === undefined ? '-' : String(phase.peakRssMb),
    phase.maxRssMb === undefined ? '-' : String(phase.maxRssMb),
    phase.load.toFixed(1),
  ]);
  const widths = header.map((title, index) =>
    Math.max(title.length, ...lines.map((line) => line[index]!.length)),
  );
  for (const line of [header, ...lines])
    process.stdout.write(
      `  ${line.map((cell, index) => (index === 0 ? cell.padEnd(widths[index]!) : cell.padStart(widths[index]!))).join('  ')}\n`,
    );
}

interface SizeResult {
  readonly n: number;
  readonly settlement: Phase;
  readonly reconciliation: Phase;
  readonly verified: boolean;
}

async function benchSize(adminUrl: string, n: number, fault: string | undefined): Promise<SizeResult> {
  const name = `payflow_bench_settlement_${process.pid}_${n}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const sql = createSql({ url: url.toString(), maxConnections: 4 });
  const directory = await mkdtemp(path.join(os.tmpdir(), 'payflow-bench-settlement-'));
  try {
    await migrate(sql, moduleMigrations());
    const passed = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => key.startsWith('SETTLEMENT_')),
    );
    const configuration = loadConfiguration({
      DATABASE_URL: url.toString(),
      SETTLEMENT_SCHEDULE: 'off',
      ...passed,
    });
    // The context the CLI builds for `payflow settlement run` and `payflow reconcile`.
    const context = {
      ...configuration,
      sql,
      log: createLogger({ level: 'warn', name: 'bench' }),
      clock: systemClock,
    };
    const dependencies = settlementDependencies(context);
    const date = benchDate();
    const [others] = await sql<{ active: number; databases: number }[]>`
      select count(*) filter (where state = 'active')::int as active, count(distinct datname)::int as databases
      from pg_stat_activity where datname <> current_database() and backend_type = 'client backend'`;
    process.stdout.write(
      `\nN = ${n.toLocaleString('en')} captured payments (${date}; ${merchants} merchants × ${currencies.join(', ')}; ` +
        `database ${name}; chunk ${dependencies.chunkSize}; ${os.availableParallelism()} cores, load average ` +
        `${os
          .loadavg()
          .map((load) => load.toFixed(1))
          .join(' ')}; shared: ${others!.active} active sessions ` +
        `in ${others!.databases} other databases on this server)\n`,
    );
    const seeded = await measured(() => seed(sql, n, date));
    const file = path.join(directory, `report-${date}.csv`);
    const reported = await measured(() => writeReport(sql, file, date, dependencies.acquirerCostBps, fault));
    const bytes = (await stat(file)).size;
    const expected = await expectedTotals(
      sql,
      dependencies.defaultPricing.percentBps,
      dependencies.defaultPricing.fixedFees as Record<string, bigint>,
      dependencies.acquirerCostBps,
    );
    const ceiling = await measured(() =>
      settlementCeiling(sql, date, dependencies.defaultPricing.percentBps, dependencies.acquirerCostBps),
    );

    const settled = await measured(() => runSettlement(dependencies, date));
    const settlementProblems = await checkSettlement(sql, settled.value.runId, expected);
    const reconciled = await measured(() =>
      reconcileReport(dependencies, file, { source: path.basename(file), date }),
    );
    const reconciliationProblems: string[] = [];
    const counts = reconciled.value.counts;
    if (counts.matched !== n) reconciliationProblems.push(`matched ${counts.matched}, expected ${n}`);
    for (const [outcome, count] of Object.entries(counts))
      if (outcome !== 'matched' && count !== 0)
        reconciliationProblems.push(`${outcome}: ${count}, expected 0`);
    const copied = await measured(() => reconciliationCeiling(sql, file));

    const settlement: Phase = {
      name: 'settlement job (payflow settlement run)',
      rows: n,
      seconds: settled.seconds,
      peakRssMb: settled.peakRssMb,
      maxRssMb: settled.maxRssMb,
      load: settled.load,
    };
    const reconciliation: Phase = {
      name: 'reconciliation (payflow reconcile --file)',
      rows: n,
      seconds: reconciled.seconds,
      peakRssMb: reconciled.peakRssMb,
      maxRssMb: reconciled.maxRssMb,
      load: reconciled.load,
    };
    printPhases([
      {
        name: 'seed (set-based SQL, not timed against the target)',
        rows: n,
        seconds: seeded.seconds,
        load: seeded.load,
      },
      {
        name: `report CSV (simulator's writer, ${(bytes / 2 ** 20).toFixed(1)} MB)`,
        rows: n,
        seconds: reported.seconds,
        peakRssMb: reported.peakRssMb,
        load: reported.load,
      },
      settlement,
      {
        name: 'ceiling: one set-based UPDATE of the items (rolled back)',
        rows: ceiling.value,
        seconds: ceiling.seconds,
        load: ceiling.load,
      },
      reconciliation,
      {
        name: 'ceiling: COPY of the report + one matching join',
        rows: copied.value,
        seconds: copied.seconds,
        load: copied.load,
      },
    ]);
    const verified = settlementProblems.length === 0 && reconciliationProblems.length === 0;
    process.stdout.write(
      verified
        ? `  verified: ${n} items settled once in ${String(settled.value.summary['batches'])} batches; gross ${expected.gross}, ` +
            `fees ${expected.fees}, acquirer costs ${expected.costs} exact; ${String(settled.value.summary['payouts'])} payouts = gross − fees; ` +
            `every journal balanced; reconciliation: ${counts.matched} of ${n} rows matched, no other outcome\n`
        : `  VERIFICATION FAILED:\n${[
            ...settlementProblems.map((p) => `settlement: ${p}`),
            ...reconciliationProblems.map((p) => `reconciliation: ${p}`),
          ]
            .map((problem) => `    ${problem}\n`)
            .join('')}`,
    );
    return { n, settlement, reconciliation, verified };
  } finally {
    await rm(directory, { recursive: true, force: true });
    await sql.end({ timeout: 5 });
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
  }
}

/** Runs the bench for each size; 0 when every result verified, else 1. */
export async function settlementBenchMain(argv: readonly string[]): Promise<number> {
  const sizes = settlementSizes(argv)!;
  const fault = optionValue(argv, '--settlement-fault');
  if (fault !== undefined && fault !== 'missing')
    throw new Error(`--settlement-fault: only "missing" (one report row left out) is known, not "${fault}"`);
  // A server allowed to create databases (one per size), or else an embedded PostgreSQL of its own.
  const database = await openBenchDatabase(process.env['TEST_DATABASE_URL'] ?? process.env['DATABASE_URL']);
  process.stdout.write(
    `settlement bench (issue 11): ${sizes.map((n) => n.toLocaleString('en')).join(', ')} captured payments; ` +
      `target per size: each job ≤ ${targetSeconds} s at 1,000,000 rows, peak RSS ≤ ${targetRssMb} MB, linear in N\n` +
      `database: ${database.embedded ? 'embedded PostgreSQL, the settings npm start uses' : 'TEST_DATABASE_URL / DATABASE_URL'}\n`,
  );
  const results: SizeResult[] = [];
  try {
    for (const n of sizes) results.push(await benchSize(database.url, n, fault));
  } finally {
    await database.close();
  }
  process.stdout.write('\nverdicts (at 1,000,000 rows, scaled from the largest N when it is smaller):\n');
  const largest = results.at(-1)!;
  for (const phase of [largest.settlement, largest.reconciliation]) {
    const at1M = (phase.seconds * 1_000_000) / phase.rows;
    process.stdout.write(
      `  ${at1M <= targetSeconds ? 'met    ' : 'NOT met'}  ${phase.name}: ${at1M.toFixed(1)} s for 1M` +
        `${phase.rows === 1_000_000 ? '' : ' (scaled)'}\n` +
        `  ${phase.maxRssMb! <= targetRssMb ? 'met    ' : 'NOT met'}  ${phase.name}: max RSS ${phase.maxRssMb} MB\n`,
    );
  }
  if (results.length > 1) {
    const first = results[0]!;
    for (const key of ['settlement', 'reconciliation'] as const) {
      const ratio = largest[key].rows / largest[key].seconds / (first[key].rows / first[key].seconds);
      process.stdout.write(
        `  ${ratio >= 0.7 ? 'met    ' : 'NOT met'}  linear in N (${key}): rows/s at ${largest.n} / at ${first.n} = ${ratio.toFixed(2)}\n`,
      );
    }
  }
  const verified = results.every((result) => result.verified);
  process.stdout.write(verified ? 'all results verified\n' : 'VERIFICATION FAILED (see above)\n');
  return verified ? 0 : 1;
}
