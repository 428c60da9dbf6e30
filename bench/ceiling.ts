// The database's ceiling for the writes of one authorize, measured from a separate process (ADR 18):
// the same tables, indexes, constraints and triggers as PayFlow (its own migrated schema, a merchant
// of its own), the same two transactions as phases 1 and 2 (key + payment + recovery point; guarded
// status change + accounts + journal with its postings + outbox row + the key's stored answer),
// prepared statements. With `pgbench` on PATH it runs a generated pgbench script; without it, a Node
// child process runs the same statements through postgres.js (prepared) in a loop.
//   node --import tsx bench/ceiling.ts URL CLIENTS SECONDS   (the Node fallback; prints JSON)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';

export interface CeilingFigures {
  readonly method: string;
  readonly clients: number;
  readonly completed: number;
  readonly errors: number;
  readonly throughputPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export const rawMerchant = 'bench_raw';

/** An account code without a literal colon (pgbench would read `:USD` as a variable). */
const code = (role: string) => `concat_ws(chr(58), 'merchant', '${rawMerchant}', 'USD', '${role}')`;

const accountsSql = `
insert into ledger.accounts (code, merchant_id, currency, role, normal_side)
values (${code('authorization_holds')}, '${rawMerchant}', 'USD', 'authorization_holds', 'debit'),
       (${code('authorization_hold_contra')}, '${rawMerchant}', 'USD', 'authorization_hold_contra', 'credit')
on conflict (code, merchant_id) do nothing`;

/** The statements of one authorize, `$1` being a number unique to the transaction. */
const phase1 = [
  `insert into payments.idempotency_keys (merchant_id, idempotency_key, operation, request_fingerprint,
     locked_at, recovery_point, created_at, updated_at)
   values ('${rawMerchant}', 'k' || $1::text, 'authorize', md5($1::text) || md5($1::text), now(), 'started', now(), now())
   on conflict (merchant_id, idempotency_key) do nothing returning *`,
  `insert into payments.payments (id, merchant_id, amount, currency, method, token, capture_on_authorize,
     status, processor_reference, metadata, created_at, updated_at)
   values ('pay_' || lpad($1::text, 26, '0'), '${rawMerchant}', 1000, 'USD', 'card', 'tok_bench', false,
     'PENDING', 'ref_' || $1::text, '{}', now(), now()) returning *`,
  `update payments.idempotency_keys set recovery_point = 'phase1_committed',
     resource_id = 'pay_' || lpad($1::text, 26, '0'), next_attempt_at = now() + interval '5 s', updated_at = now()
   where merchant_id = '${rawMerchant}' and idempotency_key = 'k' || $1::text and recovery_point = 'started'`,
];
const phase2 = [
  `update payments.payments set status = 'AUTHORIZED', authorized_amount = 1000,
     acquirer_authorization_id = 'auth_' || $1::text, authorized_at = now(), expires_at = now() + interval '7 days',
     next_action = null, updated_at = now(), version = 1
   where id = 'pay_' || lpad($1::text, 26, '0') and status = 'PENDING' and version = 0 returning *`,
  accountsSql,
  `with journal as (
     insert into ledger.journals (id, kind, payment_id, merchant_id, occurred_at)
     values ('jrn_' || $1::text, 'authorization_hold', 'pay_' || lpad($1::text, 26, '0'), '${rawMerchant}', now())
     returning id, merchant_id)
   insert into ledger.postings (journal_id, merchant_id, sequence, account_id, currency, amount)
   select journal.id, journal.merchant_id, posting.sequence, account.id, 'USD', posting.amount
   from journal cross join (values
     (0, ${code('authorization_holds')}, 1000::bigint),
     (1, ${code('authorization_hold_contra')}, -1000::bigint)) as posting (sequence, code, amount)
   join ledger.accounts account on account.code = posting.code
   order by posting.sequence`,
  `insert into events.outbox (event_id, type, aggregate_id, merchant_id, payload, occurred_at)
   values ('evt_' || lpad($1::text, 26, '0'), 'payment.authorized.v1', 'pay_' || lpad($1::text, 26, '0'),
     '${rawMerchant}', '{"paymentId":"pay","status":"AUTHORIZED","amount":"1000","currency":"USD"}', now())`,
  `update payments.idempotency_keys set recovery_point = 'finished', response_status = 201,
     response_body = '{"paymentId":"pay","status":"AUTHORIZED"}', locked_at = null, next_attempt_at = null,
     updated_at = now(), finished_at = now()
   where merchant_id = '${rawMerchant}' and idempotency_key = 'k' || $1::text`,
];

function pgbenchScript(): string {
  const statement = (text: string) => `${text.replace(/\$1/g, ':r').replace(/\s+/g, ' ').trim()};`;
  return [
    '\\set r random(1, 999999999999999)',
    'begin;',
    ...phase1.map(statement),
    'commit;',
    'begin;',
    ...phase2.map(statement),
    'commit;',
  ].join('\n');
}

function summarise(method: string, clients: number, latencies: number[], errors: number, seconds: number) {
  const sorted = latencies.sort((a, b) => a - b);
  const at = (fraction: number) =>
    sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
  const round = (value: number) => Math.round(value * 100) / 100;
  return {
    method,
    clients,
    completed: sorted.length,
    errors,
    throughputPerSecond: round(sorted.length / seconds),
    p50Ms: round(at(0.5)),
    p99Ms: round(at(0.99)),
  } satisfies CeilingFigures;
}

function hasPgbench(): boolean {
  return spawnSync('pgbench', ['--version'], { stdio: 'ignore' }).status === 0;
}

async function runProcess(command: string, args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, out };
}

async function viaPgbench(url: string, clients: number, seconds: number): Promise<CeilingFigures> {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'payflow-pgbench-'));
  try {
    const script = path.join(directory, 'authorize.sql');
    writeFileSync(script, `${pgbenchScript()}\n`);
    const { code, out } = await runProcess('pgbench', [
      '-n',
      '-M',
      'prepared',
      '-c',
      String(clients),
      '-j',
      String(Math.min(clients, os.availableParallelism())),
      '-T',
      String(seconds),
      '-f',
      script,
      '-l',
      '--log-prefix',
      path.join(directory, 'tx'),
      url,
    ]);
    if (code !== 0) throw new Error(`pgbench failed (${code}):\n${out.slice(-2000)}`);
    const latencies: number[] = [];
    for (const file of readdirSync(directory).filter((name) => name.startsWith('tx'))) {
      for (const line of readFileSync(path.join(directory, file), 'utf8').split('\n')) {
        const fields = line.split(' ');
        if (fields.length > 3) latencies.push(Number(fields[2]) / 1000); // µs → ms
      }
    }
    const failed = /number of failed transactions: (\d+)/.exec(out);
    return summarise(
      `pgbench ${/pgbench \(PostgreSQL\) ([\d.]+)/.exec(spawnSync('pgbench', ['--version']).stdout.toString())?.[1] ?? ''} (separate process, -M prepared, ${clients} clients)`,
      clients,
      latencies,
      failed ? Number(failed[1]) : 0,
      seconds,
    );
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

async function viaNode(url: string, clients: number, seconds: number): Promise<CeilingFigures> {
  const { code, out } = await runProcess(process.execPath, [
    '--import',
    'tsx',
    import.meta.filename,
    url,
    String(clients),
    String(seconds),
  ]);
  if (code !== 0) throw new Error(`the Node ceiling driver failed (${code}):\n${out.slice(-2000)}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as CeilingFigures;
}

/** Prepares the raw merchant's accounts, then measures. */
export async function measureCeiling(url: string, clients: number, seconds: number): Promise<CeilingFigures> {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    await sql.unsafe(accountsSql);
  } finally {
    await sql.end({ timeout: 2 });
  }
  return hasPgbench() ? viaPgbench(url, clients, seconds) : viaNode(url, clients, seconds);
}

/** The Node fallback's loop (in its own process): both transactions, prepared, `clients` connections. */
async function nodeLoop(url: string, clients: number, seconds: number): Promise<CeilingFigures> {
  const sql = postgres(url, { max: clients, prepare: true, onnotice: () => undefined });
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const r = String(Math.floor(Math.random() * 999_999_999_999_999) + 1);
      const started = performance.now();
      try {
        for (const phase of [phase1, phase2]) {
          await sql.begin(async (transaction) => {
            for (const statement of phase) await transaction.unsafe(statement, [r], { prepare: true });
          });
        }
        latencies.push(performance.now() - started);
      } catch {
        errors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, worker));
  await sql.end({ timeout: 2 });
  return summarise(
    `Node + postgres.js loop (separate process, prepared, ${clients} connections)`,
    clients,
    latencies,
    errors,
    seconds,
  );
}

if (process.argv[1] === import.meta.filename) {
  const [url, clients, seconds] = process.argv.slice(2);
  const figures = await nodeLoop(url!, Number(clients), Number(seconds));
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}
