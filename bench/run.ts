// `npm run bench`: PayFlow on PostgreSQL (embedded, or DATABASE_URL) as its own process with the
// acquirer simulator in-process, driven by N concurrent clients for T seconds through
// authorize → capture → refund. Prints throughput, p50/p95/p99 and errors per operation, then the
// database's own ceiling for a raw SQL transaction of the same shape, and the ratio.
//   npm run bench -- --duration 10 --concurrency 50 [--json results.json]
//   npm run bench -- --bus postgres|nats|kafka [--events N] [--payments P]: the event bus bench
//   (bench/bus.ts, the same as `npm run bench:bus`) instead of the money path.
//   npm run bench -- --settlement [10k,100k,1M]: the settlement job and the reconciliation import
//   over N captured payments (bench/settlement.ts) instead of the money path.
import '../bin/v8-settings.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createSql, type Sql } from '../src/platform/db/client.ts';
import type { EmbeddedDatabase } from '../src/platform/db/embedded.ts';
import { openBenchDatabase } from './database.ts';
import { createLogger } from '../src/platform/log.ts';
import { spawnServer, type SpawnedServer } from '../test/support/server.ts';
import { createMerchantCredentials, fetchToken } from '../test/support/identity.ts';
import { createClientWith } from '../src/modules/identity/index.ts';
import { postgresBusStats } from '../src/modules/events/index.ts';
import { systemClock } from '../src/platform/clock.ts';
import { withLuhnCheckDigit } from '../src/simulator/test-cards.ts';
import { startSimulator } from '../src/simulator/index.ts';
import { measureCeiling } from './ceiling.ts';
import { settlementBenchMain, settlementSizes } from './settlement.ts';
import { createHttpClient } from '../src/platform/http/client.ts';
import { platformSettings } from '../src/platform/config.ts';

interface Figures {
  operation: string;
  completed: number;
  errors: number;
  throughputPerSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

function figures(operation: string, latencies: number[], errors: number, seconds: number): Figures {
  const sorted = latencies.sort((a, b) => a - b);
  const round = (value: number) => Math.round(value * 100) / 100;
  return {
    operation,
    completed: sorted.length,
    errors,
    throughputPerSecond: round(sorted.length / seconds),
    p50Ms: round(percentile(sorted, 0.5)),
    p95Ms: round(percentile(sorted, 0.95)),
    p99Ms: round(percentile(sorted, 0.99)),
  };
}

interface Client {
  readonly baseUrl: string;
  readonly token: string;
  readonly publishable: string;
}

/**
 * The load generator's HTTP client: node:http on keep-alive connections, as wrk or autocannon
 * would be; fetch costs the shared box ≈ 0.3 ms more CPU per request, taken from PayFlow.
 */
const loadClient = createHttpClient({ maxSockets: 1024 });

async function post(
  client: Client,
  pathName: string,
  body: unknown,
  bearer = client.token,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const answer = await loadClient.call({
    method: 'POST',
    url: `${client.baseUrl}${pathName}`,
    headers: {
      authorization: `Bearer ${bearer}`,
      'content-type': 'application/json',
      'idempotency-key': randomUUID(),
    },
    body: JSON.stringify(body),
    timeoutMs: 60_000,
    maxAnswerBytes: 1024 * 1024,
  });
  return { status: answer.status, body: JSON.parse(answer.text) as Record<string, unknown> };
}

/**
 * The bench's cards: 200 different test numbers, used in turn, as a shop's traffic would be (one card
 * authorized thousands of times would be card testing, and would make its fraud velocity counters
 * the bench's bottleneck).
 */
async function cardTokens(client: Client, count = 200): Promise<string[]> {
  const tokens: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const number = withLuhnCheckDigit(`4${String(1_000_000 + index).padStart(14, '0')}`);
    const response = await fetch(`${client.baseUrl}/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${client.publishable}`, 'content-type': 'application/json' },
      body: JSON.stringify({ card: { number, expMonth: 12, expYear: 2034, cvc: '123' } }),
    });
    tokens.push(((await response.json()) as { token: string }).token);
  }
  return tokens;
}

type Samples = Record<'authorize' | 'capture' | 'refund', { latencies: number[]; errors: number }>;

async function timed(
  samples: Samples,
  operation: keyof Samples,
  call: () => Promise<{ status: number; body: Record<string, unknown> }>,
  expected: number,
) {
  const started = performance.now();
  try {
    const answer = await call();
    if (answer.status !== expected) {
      samples[operation].errors += 1;
      return undefined;
    }
    samples[operation].latencies.push(performance.now() - started);
    return answer.body;
  } catch {
    samples[operation].errors += 1;
    return undefined;
  }
}

async function driveApi(
  client: Client,
  concurrency: number,
  durationMs: number,
  tokens: readonly string[],
  chain = true,
  pace?: { perSecond: number },
): Promise<Samples> {
  const samples: Samples = {
    authorize: { latencies: [], errors: 0 },
    capture: { latencies: [], errors: 0 },
    refund: { latencies: [], errors: 0 },
  };
  const started = performance.now();
  const deadline = started + durationMs;
  let sent = 0;
  let next = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      if (pace) {
        // Open-loop pacing for the soak: the n-th authorize starts no earlier than n / rate.
        const due = started + (sent++ * 1000) / pace.perSecond;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      const token = tokens[next++ % tokens.length]!;
      const body = { amount: 1000, currency: 'USD', paymentMethod: { type: 'card', token } };
      const authorized = await timed(
        samples,
        'authorize',
        () => post(client, '/payments/authorize', body),
        201,
      );
      if (!authorized || !chain) continue;
      const id = authorized.paymentId as string;
      const captured = await timed(
        samples,
        'capture',
        () => post(client, `/payments/${id}/capture`, {}),
        200,
      );
      if (!captured) continue;
      await timed(
        samples,
        'refund',
        () => post(client, `/payments/${id}/refund`, { amount: 300 }, client.token),
        200,
      );
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return samples;
}

/** CPU seconds (user + system) of a process and, when `children`, of its direct children too. */
function cpuSecondsOf(pid: number, children = false): number {
  const ticks = 100; // USER_HZ on Linux
  const read = (id: string) => {
    try {
      const stat = readFileSync(`/proc/${id}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return { ppid: Number(fields[1]), cpu: (Number(fields[11]) + Number(fields[12])) / ticks };
    } catch {
      return undefined;
    }
  };
  let total = read(String(pid))?.cpu ?? 0;
  if (children) {
    for (const id of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      const entry = read(id);
      if (entry?.ppid === pid) total += entry.cpu;
    }
  }
  return total;
}

/** The embedded postmaster's pid (its backends are its children), or undefined with DATABASE_URL. */
function postmasterPid(database: { embedded?: EmbeddedDatabase; dataDir?: string }): number | undefined {
  if (!database.dataDir) return undefined;
  try {
    return Number(readFileSync(path.join(database.dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
}

/** Statements PostgreSQL ran (pg_stat_statements, BEGIN/COMMIT included) and commits, since reset. */
async function statementCounts(sql: Sql): Promise<{ statements: number; commits: number } | undefined> {
  try {
    const [row] = await sql<{ statements: number; commits: number }[]>`
      select (select coalesce(sum(calls), 0)::float8 from pg_stat_statements
              where dbid = (select oid from pg_database where datname = current_database())
                and query not ilike '%pg_stat%') as statements,
             (select xact_commit::float8 from pg_stat_database where datname = current_database()) as commits`;
    return row;
  } catch {
    return undefined;
  }
}

/** What PayFlow's connections were doing, sampled every 100 ms: state and wait event counts. */
async function sampleActivity(sql: Sql, durationMs: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const deadline = performance.now() + durationMs;
  while (performance.now() < deadline) {
    const rows = await sql<{ what: string; n: number }[]>`
      select coalesce(state, '?') || coalesce(' / ' || wait_event_type || ':' || wait_event, '') as what,
             count(*)::int as n
      from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'
      group by 1`;
    for (const row of rows) counts.set(row.what, (counts.get(row.what) ?? 0) + row.n);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return counts;
}

function printTable(rows: readonly Figures[]): void {
  const header = ['operation', 'completed', 'errors', 'per second', 'p50 ms', 'p95 ms', 'p99 ms'];
  const lines = rows.map((row) =>
    [row.operation, row.completed, row.errors, row.throughputPerSecond, row.p50Ms, row.p95Ms, row.p99Ms].map(
      String,
    ),
  );
  const widths = header.map((title, index) =>
    Math.max(title.length, ...lines.map((line) => line[index]!.length)),
  );
  for (const line of [header, ...lines])
    process.stdout.write(`${line.map((cell, index) => cell.padStart(widths[index]!)).join('  ')}\n`);
}

interface Started {
  readonly server: SpawnedServer;
  readonly client: Client;
  readonly token: readonly string[];
}

/** The bench's vault keyring: PayFlow is started more than once on the run's database. */
const benchVaultKey = randomBytes(32).toString('hex');

/** The pool `npm start` runs with, unless DATABASE_POOL_MAX says otherwise. */
const payflowPoolMax =
  process.env.DATABASE_POOL_MAX ?? platformSettings.variables.databasePoolMax.defaultValue ?? '10';

async function startPayFlow(
  sql: Sql,
  url: string,
  env: Readonly<Record<string, string>>,
  nodeArgs: readonly string[],
): Promise<Started> {
  const server = await spawnServer(
    {
      DATABASE_URL: url,
      LOG_LEVEL: 'info', // the default; request lines go to a pipe this process reads
      RATE_LIMITS: 'merchant=0,publishable=0,admin=0,service=0,anonymous=0',
      DEMO_MERCHANT: 'false',
      // The pool `npm start` runs with (the test harness's smaller test pool is for a shared server).
      DATABASE_POOL_MAX: payflowPoolMax,
      // A fresh keyring per run (one for all its starts of PayFlow on the same database): with
      // DATABASE_URL, point the bench at an empty scratch database.
      VAULT_MASTER_KEY: benchVaultKey,
      ...env,
    },
    [],
    nodeArgs,
  );
  const merchant = await createMerchantCredentials(sql, 'Bench merchant');
  const client: Client = {
    baseUrl: server.baseUrl,
    token: await fetchToken(server.baseUrl, merchant.clientId, merchant.clientSecret),
    publishable: await fetchToken(server.baseUrl, merchant.publishableKey, undefined),
  };
  return { server, client, token: await cardTokens(client) };
}

/** A token of a new service client, for PayFlow's /metrics. */
async function serviceToken(sql: Sql, baseUrl: string): Promise<string> {
  const client = await createClientWith({ sql, clock: systemClock }, { role: 'service' });
  return fetchToken(baseUrl, client.clientId, client.clientSecret);
}

/** PayFlow's /metrics as text. */
async function metricsText(baseUrl: string, token: string): Promise<string> {
  return (await fetch(`${baseUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
}

/**
 * The fraud screening's histograms, read from PayFlow's /metrics: its wall time
 * (`payflow_fraud_screening_seconds`), its parts (`…_part_seconds{part}`) and what it adds to
 * authorize (`…_added_seconds`: the time an authorization waited for it beyond the vault's
 * credentials, fetched meanwhile, measured per request; issue 13: ≤ 2 ms at p99; ADR 31).
 */
async function screeningHistogram(sql: Sql, baseUrl: string): Promise<ScreeningHistograms> {
  const text = await metricsText(baseUrl, await serviceToken(sql, baseUrl));
  const histograms: ScreeningHistograms = new Map();
  const pattern =
    /^payflow_fraud_screening(?:_part_seconds_bucket\{le="([^"]+)",part="([^"]+)"\}|(_added)?_seconds_bucket\{le="([^"]+)"\}) (\d+)/gm;
  for (const match of text.matchAll(pattern)) {
    const series = match[2] ?? (match[3] ? 'added' : '');
    const bound = match[1] ?? match[4]!;
    const buckets = histograms.get(series) ?? new Map<number, number>();
    buckets.set(bound === '+Inf' ? Infinity : Number(bound), Number(match[5]));
    histograms.set(series, buckets);
  }
  return histograms;
}

/** Cumulative bucket counts by upper bound, per series: '' the whole screening, 'added' what it adds to authorize, else its part. */
type ScreeningHistograms = Map<string, Map<number, number>>;

/** The upper bound of the bucket holding the 99th percentile (or `quantile`) of the observations since `before` (a histogram knows no finer). */
function screeningP99(
  before: ScreeningHistograms,
  after: ScreeningHistograms,
  series = '',
  quantile = 0.99,
): { p99Ms: number; count: number } {
  const from = before.get(series) ?? new Map<number, number>();
  const to = after.get(series) ?? new Map<number, number>();
  const bounds = [...to.keys()].sort((a, b) => a - b);
  const count = (to.get(Infinity) ?? 0) - (from.get(Infinity) ?? 0);
  for (const bound of bounds) {
    const within = (to.get(bound) ?? 0) - (from.get(bound) ?? 0);
    if (count > 0 && within >= quantile * count) return { p99Ms: bound * 1000, count };
  }
  return { p99Ms: Infinity, count };
}

/**
 * Flat: past the first minute (warm-up), the least-squares trend of RSS over the run adds at most
 * 10 % of its mean (a garbage collector's sawtooth goes up and down; a leak only up).
 */
function soakFlat(samples: readonly Record<string, unknown>[]): boolean {
  const points = samples
    .filter((entry) => (entry.minute as number) >= 1)
    .map((entry) => ({ x: entry.minute as number, y: entry.rssMb as number }));
  if (points.length < 3) return false;
  const meanX = points.reduce((sum, point) => sum + point.x, 0) / points.length;
  const meanY = points.reduce((sum, point) => sum + point.y, 0) / points.length;
  const slope =
    points.reduce((sum, point) => sum + (point.x - meanX) * (point.y - meanY), 0) /
    points.reduce((sum, point) => sum + (point.x - meanX) ** 2, 0);
  const span = points[points.length - 1]!.x - points[0]!.x;
  return slope * span <= 0.1 * meanY;
}

/** PayFlow's V8 heap in use, from its own /metrics (prom-client's default metrics). */
async function heapUsedMb(baseUrl: string, token: string): Promise<number | undefined> {
  try {
    const text = await metricsText(baseUrl, token);
    const bytes = /^payflow_nodejs_heap_size_used_bytes (\d+(?:\.\d+)?)/m.exec(text)?.[1];
    return bytes === undefined ? undefined : Math.round(Number(bytes) / 1024 / 1024);
  } catch {
    return undefined;
  }
}

function memoryOf(pid: number): { rssMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { rssMb: Math.round(kb / 1024) };
}

const round2 = (value: number) => Math.round(value * 100) / 100;

/**
 * Events the relay and the consumer groups have not handled yet (the PostgreSQL bus's figures, as
 * `payflow events stats` reads them): work an authorize left behind that its latency does not show.
 */
async function eventBacklog(
  sql: Sql,
): Promise<{ outbox: number; groups: Record<string, number>; total: number }> {
  const stats = await postgresBusStats(sql);
  const groups = Object.fromEntries(stats.consumerGroups.map((group) => [group.group, group.lag]));
  const total = stats.outboxUnpublished + stats.consumerGroups.reduce((sum, group) => sum + group.lag, 0);
  return { outbox: stats.outboxUnpublished, groups, total };
}

/** Waits until the relay and every consumer group caught up (or `timeoutMs`); how long it took. */
async function drainEvents(sql: Sql, timeoutMs: number): Promise<{ seconds: number; left: number }> {
  const started = Date.now();
  let left = (await eventBacklog(sql)).total;
  while (left > 0 && Date.now() - started < timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    left = (await eventBacklog(sql)).total;
  }
  return { seconds: round2((Date.now() - started) / 1000), left };
}

function verdict(name: string, met: boolean, figure: string): string {
  return `  ${met ? 'met    ' : 'NOT met'}  ${name}: ${figure}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '10' },
      concurrency: { type: 'string', default: '50' },
      'raw-clients': { type: 'string', default: '16' },
      json: { type: 'string' },
      'cpu-prof': { type: 'string' },
      soak: { type: 'string' },
      'acquirer-latency': { type: 'string' },
    },
  });
  const durationMs = Number(values.duration) * 1000;
  const concurrency = Number(values.concurrency);
  const rawClients = Number(values['raw-clients']);
  if (!(durationMs > 0) || !(concurrency > 0) || !(rawClients > 0))
    throw new Error('--duration, --concurrency and --raw-clients must be positive numbers');
  const seconds = durationMs / 1000;
  const database = await openBenchDatabase(process.env.DATABASE_URL, [
    'shared_preload_libraries=pg_stat_statements',
  ]);
  const sql = createSql({ url: database.url, maxConnections: 4 });
  const nodeArgs = values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : [];
  let started: Started | undefined;
  const report: Record<string, unknown> = {
    concurrency,
    durationSeconds: seconds,
    cores: os.availableParallelism(),
    loadAverageAtStart: os.loadavg()[0],
    database: database.embedded ? 'embedded (the settings npm start uses)' : 'DATABASE_URL',
    acquirer: 'simulator inside the PayFlow process, HTTP on loopback',
    loadGenerator: 'this process, on the same machine',
  };
  try {
    started = await startPayFlow(sql, database.url, {}, nodeArgs);
    const { server, client, token } = started;
    const serverPid = server.child.pid!;
    await sql`create extension if not exists pg_stat_statements`.catch(() => undefined);
    process.stdout.write(
      `PayFlow ${server.baseUrl} (own process; acquirer simulator inside it, HTTP on loopback)\n` +
        `database: ${database.embedded ? 'embedded PostgreSQL, the settings npm start uses' : 'DATABASE_URL'}; ` +
        `machine load average ${os.loadavg()[0]!.toFixed(1)} at start (other users of this box count)\n` +
        `load generator: this process, same machine (${os.availableParallelism()} cores shared by PayFlow, PostgreSQL and the generator)\n` +
        `clients: ${concurrency}, ${seconds} s per phase; PayFlow's pool: ${payflowPoolMax} connections\n\n`,
    );
    await driveApi(client, Math.min(concurrency, 10), 2_000, token); // warm-up

    // Phase 0: low load (2 clients), where a request waits for nobody: what the fraud screening
    // itself adds to an authorize (issue 13), without the queueing of a saturated event loop. The
    // whole duration: its p99 is the 1 % tail of a few hundred screenings per second.
    const lowLoadMs = durationMs;
    const quietLoad = [os.loadavg()[0]!];
    const quietBefore = await screeningHistogram(sql, server.baseUrl);
    const quiet = await driveApi(client, 2, lowLoadMs, token, false);
    const quietAfter = await screeningHistogram(sql, server.baseUrl);
    quietLoad.push(os.loadavg()[0]!);
    const quietScreening = screeningP99(quietBefore, quietAfter);
    // What it adds to authorize (payflow_fraud_screening_added_seconds, ADR 31).
    const quietAdded = {
      ...screeningP99(quietBefore, quietAfter, 'added'),
      p50Ms: screeningP99(quietBefore, quietAfter, 'added', 0.5).p99Ms,
      p90Ms: screeningP99(quietBefore, quietAfter, 'added', 0.9).p99Ms,
    };
    // Its parts (payflow_fraud_screening_part_seconds): which one holds the tail.
    const quietParts = Object.fromEntries(
      (['rules', 'velocity', 'decision'] as const).map((part) => [
        part,
        screeningP99(quietBefore, quietAfter, part).p99Ms,
      ]),
    );
    const quietAuthorize = figures(
      'authorize (2 clients)',
      quiet.authorize.latencies,
      quiet.authorize.errors,
      lowLoadMs / 1000,
    );

    // Phase A: authorize alone, with the CPU split and the statements it costs; it starts with the
    // events of the phases before handled, so the work it leaves behind is its own.
    await drainEvents(sql, 120_000);
    const postmaster = postmasterPid(database);
    await sql`select pg_stat_statements_reset()`.catch(() => undefined);
    const before = await statementCounts(sql);
    const cpuBefore = {
      payflow: cpuSecondsOf(serverPid),
      postgres: postmaster ? cpuSecondsOf(postmaster, true) : 0,
      generator: process.cpuUsage(),
    };
    const activity = sampleActivity(sql, durationMs);
    const screeningBefore = await screeningHistogram(sql, server.baseUrl);
    const alone = await driveApi(client, concurrency, durationMs, token, false);
    const screeningAfter = await screeningHistogram(sql, server.baseUrl);
    const screening = screeningP99(screeningBefore, screeningAfter);
    const screeningAdded = screeningP99(screeningBefore, screeningAfter, 'added');
    const waits = await activity;
    const after = await statementCounts(sql);
    const topStatements = await sql<{ calls: number; ms: number; query: string }[]>`
      select calls::float8 as calls, total_exec_time::float8 as ms,
             regexp_replace(query, '\\s+', ' ', 'g') as query from pg_stat_statements
      where dbid = (select oid from pg_database where datname = current_database()) and query not ilike '%pg_stat%'
      order by calls desc limit 25`.catch(() => []);
    const authorize = figures('authorize', alone.authorize.latencies, alone.authorize.errors, seconds);
    const generatorCpu = process.cpuUsage(cpuBefore.generator);
    /** PayFlow's and PostgreSQL's CPU since the run began, per authorize it completed. */
    const serverCpuPerAuthorize = () => ({
      payflowMsPerAuthorize: round2(
        ((cpuSecondsOf(serverPid) - cpuBefore.payflow) * 1000) / Math.max(authorize.completed, 1),
      ),
      postgresMsPerAuthorize: postmaster
        ? round2(
            ((cpuSecondsOf(postmaster, true) - cpuBefore.postgres) * 1000) / Math.max(authorize.completed, 1),
          )
        : undefined,
    });
    const cpu = {
      ...serverCpuPerAuthorize(),
      generatorMsPerAuthorize: round2(
        (generatorCpu.user + generatorCpu.system) / 1000 / Math.max(authorize.completed, 1),
      ),
    };
    // The events the run left for the relay and the consumers (webhooks, fraud, notifications, …):
    // drained now, with the CPU that costs charged to the authorizations that caused it.
    const backlog = await eventBacklog(sql);
    const drain = await drainEvents(sql, 180_000);
    const cpuWithEvents = serverCpuPerAuthorize();
    const perAuthorize =
      before && after && authorize.completed > 0
        ? {
            statements: round2((after.statements - before.statements) / authorize.completed),
            commits: round2((after.commits - before.commits) / authorize.completed),
          }
        : undefined;

    // Phase B: the authorize → capture → refund chain, with the statements a chain costs.
    const beforeChains = await statementCounts(sql);
    const chainCpuBefore = {
      payflow: cpuSecondsOf(serverPid),
      postgres: postmaster ? cpuSecondsOf(postmaster, true) : 0,
    };
    const mixed = await driveApi(client, concurrency, durationMs, token, true);
    const chainCpuSeconds = {
      payflow: cpuSecondsOf(serverPid) - chainCpuBefore.payflow,
      postgres: postmaster ? cpuSecondsOf(postmaster, true) - chainCpuBefore.postgres : undefined,
    };
    const afterChains = await statementCounts(sql);
    const chain = (['authorize', 'capture', 'refund'] as const).map((operation) =>
      figures(`${operation} (in chain)`, mixed[operation].latencies, mixed[operation].errors, seconds),
    );
    const chainsPerSecond = chain[2]!.throughputPerSecond;
    const chainsDone = chain[2]!.completed;
    const perChain =
      beforeChains && afterChains && chainsDone > 0
        ? {
            statements: round2((afterChains.statements - beforeChains.statements) / chainsDone),
            commits: round2((afterChains.commits - beforeChains.commits) / chainsDone),
          }
        : undefined;
    // CPU during the chain run per chain it completed (the event work the run did meanwhile included;
    // the authorizations still in flight when it stopped too, so a little above the true figure).
    const cpuPerChain = {
      payflowMs: round2((chainCpuSeconds.payflow * 1000) / Math.max(chainsDone, 1)),
      postgresMs:
        chainCpuSeconds.postgres === undefined
          ? undefined
          : round2((chainCpuSeconds.postgres * 1000) / Math.max(chainsDone, 1)),
    };

    // The ceiling, from a separate process, with PayFlow idle.
    const ceiling = await measureCeiling(database.url, rawClients, seconds);
    printTable([authorize, ...chain]);
    const ratio = round2(authorize.throughputPerSecond / Math.max(ceiling.throughputPerSecond, 1));
    process.stdout.write(
      `\nraw ceiling (same tables, indexes, triggers and two transactions as one authorize; ${ceiling.method}):\n` +
        `  ${ceiling.throughputPerSecond}/s, p50 ${ceiling.p50Ms} ms, p99 ${ceiling.p99Ms} ms, errors ${ceiling.errors}\n` +
        `authorize / raw ceiling: ${ratio}\n` +
        `fraud screening inside authorize (PayFlow's payflow_fraud_screening_seconds, ${screening.count} screenings, ` +
        `velocity in ${process.env.REDIS_URL ? 'Redis' : 'PostgreSQL'}; wall time inside PayFlow's one event loop, so it includes waiting behind other requests when that loop is saturated): ` +
        `p99 <= ${screening.p99Ms} ms; added to authorize p99 <= ${screeningAdded.p99Ms} ms\n` +
        `at low load (2 clients, ${lowLoadMs / 1000} s, machine load average ${quietLoad.map((load) => load.toFixed(1)).join(' → ')}): authorize p50 ${quietAuthorize.p50Ms} ms, p99 ${quietAuthorize.p99Ms} ms; ` +
        `fraud screening p99 <= ${quietScreening.p99Ms} ms (${quietScreening.count} screenings; its parts' p99: rules <= ${quietParts['rules']} ms, velocity <= ${quietParts['velocity']} ms, decision <= ${quietParts['decision']} ms); ` +
        `added to authorize (waited beyond the vault's credentials, payflow_fraud_screening_added_seconds) p50 <= ${quietAdded.p50Ms} ms, p90 <= ${quietAdded.p90Ms} ms, p99 <= ${quietAdded.p99Ms} ms (${quietAdded.count} authorizations)\n`,
    );
    const sampled = [...waits.values()].reduce((sum, n) => sum + n, 0) || 1;
    process.stdout.write(
      `\nper authorize: ${perAuthorize ? `${perAuthorize.statements} statements (BEGIN/COMMIT included; pg_stat_statements), ${perAuthorize.commits} commits` : 'statements not counted (pg_stat_statements not loaded: DATABASE_URL)'}\n` +
        (perChain
          ? `per chain (authorize → capture → refund, with the event work done meanwhile): ${perChain.statements} statements, ${perChain.commits} commits\n`
          : '') +
        `CPU per authorize: PayFlow ${cpu.payflowMsPerAuthorize} ms, PostgreSQL ${cpu.postgresMsPerAuthorize ?? '?'} ms, load generator ${cpu.generatorMsPerAuthorize} ms\n` +
        `CPU per chain (the chain run's CPU ÷ chains completed): PayFlow ${cpuPerChain.payflowMs} ms, PostgreSQL ${cpuPerChain.postgresMs ?? '?'} ms\n` +
        `events left for the relay and consumers when the load stopped: ${backlog.total} (outbox ${backlog.outbox}; ${
          Object.entries(backlog.groups)
            .map(([group, lag]) => `${group} ${lag}`)
            .join(', ') || 'no consumer group'
        }); ${drain.left === 0 ? `drained in ${drain.seconds} s` : `${drain.left} still left after ${drain.seconds} s`}\n` +
        `CPU per authorize with that deferred event work: PayFlow ${cpuWithEvents.payflowMsPerAuthorize} ms, PostgreSQL ${cpuWithEvents.postgresMsPerAuthorize ?? '?'} ms\n` +
        `statements per authorize (pg_stat_statements, the most called first; with the µs PostgreSQL spent executing them per authorize, a trigger's inside its statement's):\n${topStatements
          .map(
            (row) =>
              `  ${(row.calls / Math.max(authorize.completed, 1)).toFixed(2)}  ${((row.ms * 1000) / Math.max(authorize.completed, 1)).toFixed(0).padStart(4)} µs  ${row.query.slice(0, 100)}`,
          )
          .join('\n')}\n` +
        `PayFlow's database connections during the authorize run (share of samples):\n${[...waits]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 6)
          .map(([what, n]) => `  ${((100 * n) / sampled).toFixed(1)}%  ${what}`)
          .join('\n')}\n`,
    );

    let latencyCheck: Record<string, unknown> | undefined;
    if (values['acquirer-latency']) {
      // Same load against a PayFlow whose acquirer answers after N ms, 200 clients, versus 0 ms.
      const latencyMs = Number(values['acquirer-latency']);
      const zero = await driveApi(client, 200, durationMs, token, false);
      await server.stop();
      started = undefined;
      started = await startPayFlow(sql, database.url, { SIMULATOR_LATENCY_MS: String(latencyMs) }, []);
      await driveApi(started.client, 20, 2_000, started.token, false);
      const slow = await driveApi(started.client, 200, durationMs, started.token, false);
      const zeroFigures = figures(
        'authorize, acquirer 0 ms, 200 clients',
        zero.authorize.latencies,
        zero.authorize.errors,
        seconds,
      );
      const slowFigures = figures(
        `authorize, acquirer ${latencyMs} ms, 200 clients`,
        slow.authorize.latencies,
        slow.authorize.errors,
        seconds,
      );
      process.stdout.write('\n');
      printTable([zeroFigures, slowFigures]);
      const latencyRatio = round2(
        slowFigures.throughputPerSecond / Math.max(zeroFigures.throughputPerSecond, 1),
      );
      process.stdout.write(`throughput with ${latencyMs} ms acquirer / with 0 ms: ${latencyRatio}\n`);
      latencyCheck = { latencyMs, zero: zeroFigures, slow: slowFigures, ratio: latencyRatio };
    }

    let soak: Record<string, unknown>[] | undefined;
    if (values.soak) {
      // 70 % of the authorize rate just measured, paced, for the given seconds; memory each minute.
      const soakSeconds = Number(values.soak);
      // PayFlow's memory alone: the acquirer simulator (which remembers every reference it answered,
      // as an acquirer's database would) runs in this process for the soak, and PayFlow is started
      // again with ACQUIRER_URL pointing at it.
      const notifySecret = randomBytes(32).toString('base64');
      const soakSimulator = await startSimulator({
        port: 0,
        host: '127.0.0.1',
        notifySecret,
        logger: createLogger({ level: 'silent' }),
      });
      await started?.server.stop();
      started = undefined;
      started = await startPayFlow(
        sql,
        database.url,
        { ACQUIRER_URL: soakSimulator.url, ACQUIRER_NOTIFY_SECRET: notifySecret },
        [],
      );
      const current = started;
      await driveApi(current.client, 10, 2_000, current.token, false); // warm-up
      const rate = Math.max(1, Math.round(authorize.throughputPerSecond * 0.7));
      process.stdout.write(
        `\nsoak: ${rate} authorize/s (70 % of ${authorize.throughputPerSecond}/s) for ${soakSeconds} s; ` +
          `PayFlow started again with the acquirer simulator outside it (in the load generator's process)\n`,
      );
      soak = [];
      const pid = current.server.child.pid!;
      const metricsToken = await serviceToken(sql, current.server.baseUrl);
      const sample = async (minute: number) => {
        const memory = {
          ...memoryOf(pid),
          heapUsedMb: await heapUsedMb(current.server.baseUrl, metricsToken),
        };
        soak!.push({ minute, ...memory });
        process.stdout.write(
          `  minute ${minute}: PayFlow RSS ${memory.rssMb} MB, V8 heap used ${memory.heapUsedMb ?? '?'} MB\n`,
        );
      };
      await sample(0);
      let minute = 0;
      const timer = setInterval(() => void sample(++minute), 60_000);
      const paced = await driveApi(current.client, concurrency, soakSeconds * 1000, current.token, false, {
        perSecond: rate,
      });
      clearInterval(timer);
      await sample(round2(soakSeconds / 60));
      const soakFigures = figures(
        'authorize (soak)',
        paced.authorize.latencies,
        paced.authorize.errors,
        soakSeconds,
      );
      printTable([soakFigures]);
      await current.server.stop();
      started = undefined;
      await soakSimulator.close();
    }

    const maxRss = soak ? Math.max(...soak.map((entry) => entry.rssMb as number)) : undefined;
    process.stdout.write(
      `\nverdicts (targets of issue 12; 2 cores shared with the load generator and PostgreSQL):\n` +
        [
          verdict('authorize / raw ceiling >= 0.5', ratio >= 0.5, String(ratio)),
          verdict('authorize p99 <= 50 ms', authorize.p99Ms <= 50, `${authorize.p99Ms} ms`),
          verdict(
            'zero errors',
            authorize.errors + chain.reduce((n, row) => n + row.errors, 0) === 0,
            `${authorize.errors + chain.reduce((n, row) => n + row.errors, 0)} errors`,
          ),
          verdict(
            'authorize >= 2,000/s',
            authorize.throughputPerSecond >= 2000,
            `${authorize.throughputPerSecond}/s`,
          ),
          verdict('chain >= 700 chains/s', chainsPerSecond >= 700, `${chainsPerSecond} chains/s`),
          verdict(
            'fraud screening adds <= 2 ms to authorize at p99, low load (issue 13)',
            quietAdded.p99Ms <= 2,
            `<= ${quietAdded.p99Ms} ms (the screening itself: p99 <= ${quietScreening.p99Ms} ms, beside the vault's credentials)`,
          ),
          latencyCheck
            ? verdict(
                '50 ms acquirer, 200 clients: >= 0.8 of 0 ms',
                (latencyCheck.ratio as number) >= 0.8,
                String(latencyCheck.ratio),
              )
            : '  not run  acquirer latency (--acquirer-latency 50)',
          maxRss !== undefined
            ? verdict(
                'soak RSS <= 300 MB and flat (its trend after the first minute adds <= 10 %)',
                maxRss <= 300 && soakFlat(soak!),
                `max ${maxRss} MB; RSS ${soak!.map((entry) => entry.rssMb).join(' → ')} MB; heap ${soak!.map((entry) => entry.heapUsedMb ?? '?').join(' → ')} MB`,
              )
            : '  not run  soak (--soak 600)',
        ].join('\n') +
        `\nWhat limits it: see the CPU split and connection states above; ADR 18 and the README's performance ` +
        `section hold the profile. PayFlow is one process on one core unless its CPU per authorize falls.\n`,
    );
    if (values.json) {
      writeFileSync(
        values.json,
        `${JSON.stringify({ ...report, authorize, chain, chainsPerSecond, ceiling, ratio, screening, screeningAdded, quietAuthorize, quietScreening, quietParts, quietAdded, quietLoad, perAuthorize, perChain, cpu, cpuPerChain, eventBacklog: backlog, drain, cpuWithEvents, connectionStates: Object.fromEntries(waits), latencyCheck, soak }, null, 2)}\n`,
      );
    }
  } finally {
    loadClient.close();
    await started?.server.stop();
    await sql.end({ timeout: 2 });
    await database.close();
  }
}

// `--bus` runs the event bus bench (issue 15: `npm run bench -- --bus kafka`), with the same flags.
// `--settlement [N,…]` runs the settlement and reconciliation bench (issue 11), not the money path.
const argv = process.argv.slice(2);
if (argv.some((arg) => arg === '--bus' || arg.startsWith('--bus='))) await import('./bus.ts');
else if (settlementSizes(argv)) process.exitCode = await settlementBenchMain(argv);
else await main();
