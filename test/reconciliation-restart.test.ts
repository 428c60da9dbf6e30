// The chunked reconciliation import (ADR 20) against real PostgreSQL: a 2,000-row report imported
// in chunks of 25 (80 chunks) by `payflow reconcile` in a child process, killed with SIGKILL mid-way
// (after 20 committed chunks, while it waits to commit the next), then imported again: it resumes after its last committed chunk, every row has exactly one result, and
// the results equal an uninterrupted import's on a copy of the same data. The same report a third
// time changes nothing. Malformed rows name their line; past the skip limit nothing is recorded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { repositoryRoot, runCli, temporaryDataDir, testSecretsKey } from './support/server.ts';

const header =
  'Psp Reference,Merchant Reference,Type,Gross Currency,Gross Debit (GC),Gross Credit (GC),Net Currency,Net Debit (NC),Net Credit (NC),Batch Number';
const major = (minor: number) => `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, '0')}`;
const itemCount = 2_000;
const chunkSize = 25;
/** Chunks committed before the kill; some 60 are left for the resumed import. */
const killAfterChunks = 20;
const amountOf = (n: number) => (n % 5 === 0 ? 100 : 1_000 + n);
const referenceOf = (n: number) => (n % 5 === 0 ? `ref_seed_${n}.refund` : `pay_seed_${n}.capture`);
const rowOf = (n: number, amount = amountOf(n)) =>
  n % 5 === 0
    ? `PSP${n},${referenceOf(n)},Refunded,USD,${major(amount)},,USD,,,7`
    : `PSP${n},${referenceOf(n)},Settled,USD,,${major(amount)},USD,,,7`;

/** A day of 2,000 captures and refunds, as the events would have recorded them. */
async function seed(database: TestDatabase): Promise<void> {
  await database.sql`
    insert into settlement.items (id, operation_id, merchant_id, currency, payment_id, kind, amount, occurred_at)
    select 'evt_seed_' || n, case when n % 5 = 0 then 'ref_seed_' || n else 'pay_seed_' || n end,
      'mer_recon_' || n % 3, 'USD', 'pay_seed_' || n, case when n % 5 = 0 then 'refund' else 'capture' end,
      case when n % 5 = 0 then 100 else 1000 + n end, '2099-01-01T12:00:00Z'
    from generate_series(1, ${itemCount}) as n`;
}

/**
 * The acquirer's report of that day with faults: every 997th item missing, every 1009th settled one
 * cent higher, every 1500th repeated at once, item 10 repeated at the very end (its first row commits
 * long before the kill), a row PayFlow never sent, one malformed row, a fee row.
 */
function report(): { csv: string; malformedLine: number; rows: number } {
  const lines = [header];
  let malformedLine = 0;
  for (let n = 1; n <= itemCount; n += 1) {
    if (n === 1_234) {
      lines.push('PSP_bad,pay_bad.capture,Settled,USD,,12.5,USD,,,7');
      malformedLine = lines.length;
    }
    if (n % 997 === 0) continue;
    lines.push(rowOf(n, n % 1009 === 0 ? amountOf(n) + 1 : amountOf(n)));
    if (n % 1500 === 0) lines.push(rowOf(n));
  }
  lines.push('PSP_x,pay_never_sent.capture,Settled,USD,,10.00,USD,,,7');
  lines.push(rowOf(10));
  lines.push('PSP_fee,,Fee,,,,USD,0.10,,7');
  return { csv: `${lines.join('\n')}\n`, malformedLine, rows: lines.length - 1 };
}

interface ResultRow {
  line: number | null;
  outcome: string;
  reference: string | null;
  item_id: string | null;
  expected_amount: bigint | null;
  reported_amount: bigint | null;
  detail: string | null;
}

async function results(database: TestDatabase): Promise<ResultRow[]> {
  return database.sql<ResultRow[]>`
    select line, outcome, reference, item_id, expected_amount, reported_amount, detail
    from settlement.reconciliation_results order by line nulls last, item_id, outcome`;
}

function cliEnv(database: TestDatabase): Record<string, string> {
  return {
    DATABASE_URL: database.url,
    PAYFLOW_DATA_DIR: temporaryDataDir(),
    PAYFLOW_SECRETS_KEY: testSecretsKey,
    LOG_LEVEL: 'warn',
  };
}

test('a report import killed with SIGKILL resumes after its last chunk: each row once, same results as without the kill', async (t) => {
  const crashed = await createTestDatabase();
  const reference = await createTestDatabase();
  try {
    await Promise.all([seed(crashed), seed(reference)]);
    const directory = mkdtempSync(path.join(tmpdir(), 'payflow-recon-test-'));
    const file = path.join(directory, 'settlement_detail_report_batch_7.csv');
    const { csv, malformedLine, rows } = report();
    writeFileSync(file, csv);

    // Uninterrupted, in one big chunk, on the copy.
    const whole = await runCli(['reconcile', '--file', file], cliEnv(reference));
    assert.equal(whole.code, 1, whole.stderr); // 1: there are exceptions to look at
    const wholeRun = JSON.parse(whole.stdout) as { rows: number; counts: Record<string, number> };
    assert.equal(wholeRun.rows, rows);

    // In chunks of 25, killed mid-way.
    const env = cliEnv(crashed);
    const child = spawn(
      process.execPath,
      [
        path.join(repositoryRoot, 'bin/payflow.js'),
        'reconcile',
        '--file',
        file,
        '--chunk-size',
        String(chunkSize),
      ],
      { cwd: repositoryRoot, env: { ...process.env, ...env }, stdio: 'ignore' },
    );
    let ended = false;
    const exited = new Promise((resolve) => child.once('exit', resolve)).then(() => (ended = true));
    // Each look at the job locks its row: while the lock is held, the import cannot commit another
    // chunk (each chunk's transaction updates the row), so once the look sees enough chunks the kill
    // lands in the middle of the job however fast the import runs and however late this process is
    // scheduled: the next chunk's writes wait for the lock and die uncommitted.
    let killedAfter: number | undefined;
    while (killedAfter === undefined) {
      assert.equal(ended, false, 'the import ended before it could be killed');
      await crashed.sql.begin(async (transaction) => {
        const [job] = await transaction<{ chunks_done: number }[]>`
          select chunks_done from settlement.job_runs for update`;
        if (!job || job.chunks_done < killAfterChunks) return;
        child.kill('SIGKILL');
        await exited;
        killedAfter = job.chunks_done;
      });
      if (killedAfter === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const [interrupted] = await crashed.sql<
      {
        status: string;
        run_status: string;
        read_count: bigint;
        chunks_done: number;
        line: number;
        max_line: number;
        results: bigint;
      }[]
    >`
      select job.status, run.status as run_status, job.read_count, job.chunks_done,
        (job.checkpoint ->> 'line')::integer as line,
        (select max(line) from settlement.reconciliation_results) as max_line,
        (select count(*) from settlement.reconciliation_results)::bigint as results
      from settlement.job_runs job join settlement.reconciliation_runs run on run.job_id = job.id`;
    assert.equal(interrupted!.status, 'running');
    assert.equal(interrupted!.run_status, 'running');
    assert.equal(interrupted!.chunks_done, killedAfter, 'nothing committed after the kill');
    assert.ok(interrupted!.chunks_done >= killAfterChunks, 'several chunks committed before the kill');
    assert.ok(
      Number(interrupted!.read_count) <= rows - killAfterChunks * chunkSize,
      'several chunks left to import after it',
    );
    assert.equal(Number(interrupted!.read_count), interrupted!.chunks_done * chunkSize, 'whole chunks only');
    // Every committed row has its result (no Fee row before the end), and nothing after the checkpoint.
    assert.equal(Number(interrupted!.results), Number(interrupted!.read_count));
    assert.equal(interrupted!.max_line, interrupted!.line);
    t.diagnostic(
      `killed after ${interrupted!.chunks_done} chunks (line ${interrupted!.line} of ${rows + 1})`,
    );

    const resumed = await runCli(['reconcile', '--file', file, '--chunk-size', String(chunkSize)], env);
    assert.equal(resumed.code, 1, resumed.stderr);
    const resumedRun = JSON.parse(resumed.stdout) as {
      rows: number;
      counts: Record<string, number>;
      resumedAfterRows: number;
    };
    assert.equal(resumedRun.resumedAfterRows, Number(interrupted!.read_count));
    assert.match(resumed.stderr, /resumed an interrupted import after its first \d+ rows/);
    assert.equal(resumedRun.rows, rows);
    assert.deepEqual(resumedRun.counts, wholeRun.counts);

    // Each row exactly once, and the same results as the uninterrupted import.
    const [lines] = await crashed.sql<{ results: bigint; lines: bigint }[]>`
      select count(*)::bigint as results, count(distinct line)::bigint as lines
      from settlement.reconciliation_results where line is not null`;
    assert.equal(Number(lines!.results), rows - 1, 'one result per row but the fee row');
    assert.equal(Number(lines!.lines), rows - 1);
    const expectedMissing = Math.floor(itemCount / 997);
    assert.deepEqual(resumedRun.counts, {
      matched: itemCount - expectedMissing - Math.floor(itemCount / 1009),
      amount_mismatch: Math.floor(itemCount / 1009),
      cost_mismatch: 0,
      unexpected_in_report: 1,
      duplicate_in_report: Math.floor(itemCount / 1500) + 1,
      missing_in_report: expectedMissing,
      chargeback: 0,
      malformed: 1,
    });
    assert.deepEqual(await results(crashed), await results(reference));
    const [malformed] = await crashed.sql<{ line: number; detail: string }[]>`
      select line, detail from settlement.reconciliation_results where outcome = 'malformed'`;
    assert.equal(malformed!.line, malformedLine);
    assert.match(malformed!.detail, new RegExp(`^line ${malformedLine}: "Gross Credit \\(GC\\)" is "12.5"`));
    const [duplicate] = await crashed.sql<{ line: number }[]>`
      select line from settlement.reconciliation_results
      where outcome = 'duplicate_in_report' and reference = ${referenceOf(10)}`;
    assert.equal(duplicate!.line, rows, 'item 10 again at the end, after the kill, is a duplicate');

    const [job] = await crashed.sql<
      { status: string; attempts: number; read_count: bigint; skip_count: bigint; write_count: bigint }[]
    >`select status, attempts, read_count, skip_count, write_count from settlement.job_runs`;
    assert.deepEqual(job, {
      status: 'completed',
      attempts: 2,
      read_count: BigInt(rows),
      skip_count: 1n,
      write_count: BigInt(rows - 1),
    });

    // The same bytes again (under another name): recognised by their digest, nothing changes.
    const copy = path.join(directory, 'copy.csv');
    writeFileSync(copy, csv);
    const before = await results(crashed);
    const again = await runCli(['reconcile', '--file', copy], env);
    assert.equal(again.code, 1, again.stderr);
    assert.match(again.stderr, /reconciled before/);
    assert.equal((JSON.parse(again.stdout) as { alreadyReconciled: boolean }).alreadyReconciled, true);
    assert.deepEqual(await results(crashed), before);
    const [counted] = await crashed.sql<{ runs: bigint; jobs: bigint; events: bigint }[]>`
      select (select count(*) from settlement.reconciliation_runs)::bigint as runs,
        (select count(*) from settlement.job_runs)::bigint as jobs,
        (select count(*) from events.outbox where type = 'reconciliation.completed.v1')::bigint as events`;
    assert.deepEqual(counted, { runs: 1n, jobs: 1n, events: 1n });

    const shown = await runCli(
      ['jobs', 'show', (await crashed.sql`select id from settlement.job_runs`)[0]!['id']],
      env,
    );
    assert.equal(shown.code, 0, shown.stderr);
    assert.deepEqual(
      (({ job, status, readCount, skipCount, lastCommittedLine }) => ({
        job,
        status,
        readCount,
        skipCount,
        lastCommittedLine,
      }))(JSON.parse(shown.stdout) as Record<string, unknown>),
      {
        job: 'reconciliation',
        status: 'completed',
        readCount: rows,
        skipCount: 1,
        lastCommittedLine: rows + 1,
      },
    );
  } finally {
    await Promise.all([crashed.drop(), reference.drop()]);
  }
});

test('chunked import: a malformed row in a later chunk is recorded with its line; past the skip limit nothing is', async () => {
  const database = await createTestDatabase();
  try {
    await seed(database);
    const env = cliEnv(database);
    const directory = mkdtempSync(path.join(tmpdir(), 'payflow-recon-test-'));
    const lines = [header, ...Array.from({ length: 30 }, (_, index) => rowOf(index + 1))];
    lines.splice(23, 0, 'PSP_bad,pay_seed_1.capture,Settled,JPY,,10.00,JPY,,,7');
    const oneBad = path.join(directory, 'one-bad.csv');
    writeFileSync(oneBad, `${lines.join('\n')}\n`);
    const run = await runCli(['reconcile', '--file', oneBad, '--chunk-size', '5'], env);
    assert.equal(run.code, 1, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { counts: Record<string, number> }).counts['malformed'], 1);
    const [bad] = await database.sql<{ line: number; detail: string }[]>`
      select line, detail from settlement.reconciliation_results where outcome = 'malformed'`;
    assert.deepEqual(bad, {
      line: 24,
      detail: 'line 24: "Gross Credit (GC)" is "10.00", not an amount with 0 decimal(s) for JPY',
    });

    const many = [header, ...Array.from({ length: 40 }, (_, index) => rowOf(index + 1))];
    for (let index = 0; index < 11; index += 1)
      many[3 + index * 3] = `PSP,pay_${index}.capture,Settled,USD,,x,USD,,,7`;
    const tooMany = path.join(directory, 'too-many.csv');
    writeFileSync(tooMany, `${many.join('\n')}\n`);
    const refused = await runCli(['reconcile', '--file', tooMany, '--chunk-size', '5'], env);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /More than 10 malformed rows; the last: line 34: "Gross Credit \(GC\)" is "x".*Nothing was recorded\. \(too_many_malformed_rows\)/,
    );
    const [counted] = await database.sql<{ runs: bigint; jobs: bigint }[]>`
      select (select count(*) from settlement.reconciliation_runs)::bigint as runs,
        (select count(*) from settlement.job_runs)::bigint as jobs`;
    assert.deepEqual(counted, { runs: 1n, jobs: 1n }, 'only the first report was recorded');
  } finally {
    await database.drop();
  }
});
