// The row keys of reconciliation results (migrations 0705, 0706) against real PostgreSQL: a run
// interrupted before 0705 gave its first rows no key; resumed after it, the keys are filled from the
// committed records, so a repeat after the interruption is still a duplicate and the items the first
// chunks named are not missing. And the first row of a key is one per run, by a unique index.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfiguration } from '../src/apps/configuration.ts';
import { reconcileReport, settlementDependencies } from '../src/modules/settlement/index.ts';
import { systemClock } from '../src/platform/clock.ts';
import { createLogger } from '../src/platform/log.ts';
import { createTestDatabase } from './support/database.ts';

const header =
  'Psp Reference,Merchant Reference,Type,Gross Currency,Gross Debit (GC),Gross Credit (GC),Net Currency,Net Debit (NC),Net Credit (NC),Batch Number';
const major = (minor: number) => `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, '0')}`;

type Database = Awaited<ReturnType<typeof createTestDatabase>>;

/** `count` captures of merchant mer_recon_0 on `day` (pay_<prefix>_1 …), and a report row of each. */
async function seedCaptures(database: Database, prefix: string, count: number, day: string) {
  await database.sql`
    insert into settlement.items (id, operation_id, merchant_id, currency, payment_id, kind, amount, occurred_at)
    select 'evt_' || ${prefix} || '_' || n, 'pay_' || ${prefix} || '_' || n, 'mer_recon_0', 'USD',
      'pay_' || ${prefix} || '_' || n, 'capture', 1000 + n, ${`${day}T12:00:00Z`}::timestamptz
    from generate_series(1, ${count}::int) as n`;
  return (n: number) => `PSP${n},pay_${prefix}_${n}.capture,Settled,USD,,${major(1000 + n)},USD,,,7`;
}

/** The report's file (header and `rows`), and the settlement module's dependencies on `database`. */
function reportAndDependencies(database: Database, rows: readonly string[]) {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'payflow-recon-test-')), 'report.csv');
  writeFileSync(file, `${[header, ...rows].join('\n')}\n`);
  const dependencies = settlementDependencies({
    ...loadConfiguration({ DATABASE_URL: database.url, SETTLEMENT_SCHEDULE: 'off' }),
    sql: database.sql,
    log: createLogger({ level: 'silent', name: 'test' }),
    clock: systemClock,
  });
  return { file, dependencies };
}

test('a run interrupted before migration 0705 (first rows without their row key) resumes with the keys filled; a key twice in a run is refused', async () => {
  const database = await createTestDatabase();
  try {
    // 40 captures of a day; the report names each once, and item 3 again at the end.
    const settled = await seedCaptures(database, 'old', 40, '2098-06-01');
    const { file, dependencies } = reportAndDependencies(database, [
      ...Array.from({ length: 40 }, (_, index) => settled(index + 1)),
      settled(3),
    ]);

    // Interrupted after two chunks of 10 rows ...
    await assert.rejects(
      reconcileReport(dependencies, file, {
        source: 'report.csv',
        chunkSize: 10,
        onProgress: ({ chunks }) => {
          if (chunks === 2) throw new Error('interrupted');
        },
      }),
      /interrupted/,
    );
    // ... by a version before migration 0705, which gave no row its key.
    const cleared = await database.sql`
      update settlement.reconciliation_results set row_key = null where row_key is not null`;
    assert.equal(cleared.count, 20);

    const resumed = await reconcileReport(dependencies, file, { source: 'report.csv', chunkSize: 10 });
    assert.equal(resumed.resumedAfterRows, 20);
    assert.equal(resumed.counts.matched, 40);
    assert.equal(resumed.counts.duplicate_in_report, 1, 'item 3 again at the end is a duplicate');
    assert.equal(resumed.counts.missing_in_report, 0, 'the items the first chunks named are not missing');
    const [keys] = await database.sql<{ keyed: bigint; distinct: bigint }[]>`
      select count(row_key)::bigint as keyed, count(distinct row_key)::bigint as distinct
      from settlement.reconciliation_results`;
    assert.deepEqual(keys, { keyed: 40n, distinct: 40n });

    // The first row of a key is one per run: a second row with the same key is refused.
    await assert.rejects(
      database.sql`
        insert into settlement.reconciliation_results (id, run_id, line, outcome, reference, status, row_key)
        select 'rcx_' || repeat('0', 26), run_id, 99, 'unexpected_in_report', reference, 'open', row_key
        from settlement.reconciliation_results where row_key = 'capture:pay_old_3'`,
      (error: { code?: string }) => error.code === '23505',
    );
  } finally {
    await database.drop();
  }
});

test('a key repeated in the very next chunk (matched while the one before commits) is a duplicate', async () => {
  const database = await createTestDatabase();
  try {
    const settled = await seedCaptures(database, 'next', 5, '2098-06-02');
    const unknown = `PSPX,pay_next_unknown.capture,Settled,USD,,1.00,USD,,,7`;
    // Chunks of 3: [1 2 3] [3 4 unknown] [unknown 3 5].
    const { file, dependencies } = reportAndDependencies(database, [
      settled(1),
      settled(2),
      settled(3),
      settled(3),
      settled(4),
      unknown,
      unknown,
      settled(3),
      settled(5),
    ]);
    const run = await reconcileReport(dependencies, file, { source: 'report.csv', chunkSize: 3 });
    assert.equal(run.counts.matched, 5);
    assert.equal(run.counts.unexpected_in_report, 1);
    assert.equal(run.counts.duplicate_in_report, 3);
    assert.equal(run.counts.missing_in_report, 0);
    const duplicates = await database.sql<{ line: number }[]>`
      select line from settlement.reconciliation_results where outcome = 'duplicate_in_report' order by line`;
    assert.deepEqual(
      duplicates.map((row) => row.line),
      [5, 8, 9],
    );
  } finally {
    await database.drop();
  }
});
