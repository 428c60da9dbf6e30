// The settlement job killed with SIGKILL mid-run (ADR 19): the restart resumes from the last
// committed chunk, and the result equals an uninterrupted run's: every item settled exactly once,
// one journal per batch, batch totals equal to their items, one payout per merchant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createTestDatabase } from './support/database.ts';
import { repositoryRoot, runCli, temporaryDataDir, testSecretsKey } from './support/server.ts';

const items = 6_000;
const merchants = ['mer_restart_a', 'mer_restart_b', 'mer_restart_c'];

test('settlement killed with SIGKILL mid-run resumes from its last chunk: each item once, same totals', async (t) => {
  const database = await createTestDatabase();
  const { sql } = database;
  try {
    // A day of captures (and every fifth a refund) seeded in bulk, as the events would record them.
    await sql`
      insert into settlement.items (id, merchant_id, currency, payment_id, kind, amount, occurred_at)
      select 'evt_seed_' || n, (${sql.array(merchants)}::text[])[1 + n % 3], 'USD', 'pay_seed_' || n,
             case when n % 5 = 0 then 'refund' else 'capture' end,
             case when n % 5 = 0 then 100 else 1000 + n end, '2099-01-01T12:00:00Z'
      from generate_series(1, ${items}) as n`;
    // …and their capture and refund journals, as payments would have posted them (settlement verify
    // compares the ledger's receivable with the items).
    await sql.begin(async (transaction) => {
      await transaction`
        insert into ledger.accounts (code, merchant_id, currency, role, normal_side)
        select 'merchant:' || merchant || ':USD:' || role, merchant, 'USD', role,
               case when role = 'receivable_from_acquirer' then 'debit' else 'credit' end
        from unnest(${sql.array(merchants)}::text[]) as merchant,
             unnest(array['receivable_from_acquirer', 'payable', 'refunds']) as role`;
      await transaction`
        insert into ledger.journals (id, kind, payment_id, merchant_id, occurred_at)
        select 'jnl_seed_' || id, kind, payment_id, merchant_id, occurred_at from settlement.items`;
      await transaction`
        insert into ledger.postings (journal_id, merchant_id, sequence, account_id, currency, amount)
        select 'jnl_seed_' || item.id, item.merchant_id, leg.sequence, account.id, 'USD', leg.sign * item.amount
        from settlement.items item
        cross join lateral (values
          (0, case when item.kind = 'capture' then 'receivable_from_acquirer' else 'payable' end, 1),
          (1, case when item.kind = 'capture' then 'payable' else 'refunds' end, -1)) as leg (sequence, role, sign)
        join ledger.accounts account on account.code = 'merchant:' || item.merchant_id || ':USD:' || leg.role`;
    });
    const env = {
      DATABASE_URL: database.url,
      SETTLEMENT_CHUNK_SIZE: '5',
      PAYFLOW_DATA_DIR: temporaryDataDir(),
      PAYFLOW_SECRETS_KEY: testSecretsKey,
      LOG_LEVEL: 'warn',
    };
    const child = spawn(
      process.execPath,
      [path.join(repositoryRoot, 'bin/payflow.js'), 'settlement', 'run', '--date', '2099-01-01'],
      { cwd: repositoryRoot, env: { ...process.env, ...env }, stdio: 'ignore' },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let killedAt = 0;
    for (let attempt = 0; attempt < 600; attempt += 1) {
      const [run] = await sql<{ chunks_done: number }[]>`select chunks_done from settlement.job_runs`;
      if (run && run.chunks_done >= 40) {
        child.kill('SIGKILL');
        killedAt = run.chunks_done;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await exited;
    assert.ok(killedAt > 0, 'the run was killed mid-way');
    const [interrupted] = await sql<{ status: string; chunks_done: number; settled: bigint }[]>`
      select status, chunks_done,
        (select count(*) from settlement.items where batch_id is not null)::bigint as settled
      from settlement.job_runs`;
    assert.equal(interrupted!.status, 'running');
    assert.ok(Number(interrupted!.settled) < items, 'the kill left work to do');
    assert.equal(
      Number(interrupted!.settled),
      interrupted!.chunks_done * 5,
      'chunk progress matches the items',
    );
    t.diagnostic(`killed after ${interrupted!.chunks_done} chunks (${interrupted!.settled} items)`);

    const resumed = await runCli(['settlement', 'run', '--date', '2099-01-01'], env);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal((JSON.parse(resumed.stdout) as { outcome: string }).outcome, 'completed');

    const [totals] = await sql<
      {
        unsettled: bigint;
        batch_items: bigint;
        batches: bigint;
        journals: bigint;
        gross_ok: boolean;
        payouts: bigint;
        attempts: number;
      }[]
    >`
      select
        (select count(*) from settlement.items where batch_id is null)::bigint as unsettled,
        (select sum(item_count) from settlement.batches)::bigint as batch_items,
        (select count(*) from settlement.batches)::bigint as batches,
        (select count(*) from ledger.journals where kind = 'acquirer_settlement')::bigint as journals,
        (select bool_and(b.gross = coalesce(i.gross, 0) and b.refunds = coalesce(i.refunds, 0)
                         and b.fees = coalesce(i.fees, 0) and b.item_count = i.n)
           from settlement.batches b
           left join (select batch_id, count(*) as n,
                        sum(amount) filter (where kind = 'capture') as gross,
                        sum(amount) filter (where kind = 'refund') as refunds,
                        sum(fee) as fees
                      from settlement.items group by batch_id) i on i.batch_id = b.id) as gross_ok,
        (select count(*) from settlement.payouts)::bigint as payouts,
        (select attempts from settlement.job_runs) as attempts`;
    assert.deepEqual(totals, {
      unsettled: 0n,
      batch_items: BigInt(items),
      batches: BigInt(items / 5),
      journals: BigInt(items / 5),
      gross_ok: true,
      payouts: BigInt(merchants.length),
      attempts: 2,
    });

    const again = await runCli(['settlement', 'run', '--date', '2099-01-01'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as { outcome: string }).outcome, 'already_completed');
    assert.match(again.stderr, /already completed/);

    // The invariants hold, and a change behind the application's back is reported.
    const verified = await runCli(['settlement', 'verify'], env);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /settlement verify: 3 merchant currencies checked against the ledger; OK/);
    assert.doesNotMatch(verified.stdout, /in flight/);
    await sql`update settlement.batches set gross = gross + 1, net = net + 1 where id = (select min(id) from settlement.batches)`;
    await sql`
      insert into settlement.payouts (id, merchant_id, currency, amount, status, created_at, updated_at)
      values ('po_00000000000000000000000000', ${merchants[0]!}, 'USD', 999999999, 'pending', now(), now())`;
    const broken = await runCli(['settlement', 'verify'], env);
    assert.equal(broken.code, 1);
    assert.match(broken.stdout, /VIOLATION batch_totals: batch stl_\w+ differs from the sum of its items/);
    assert.match(
      broken.stdout,
      /VIOLATION payouts_within_settled: mer_restart_a USD: payouts \d+ exceed the net settled/,
    );
    // The batch changed behind the ledger's back, and the payout has no journal: the ledger disagrees.
    assert.match(broken.stdout, /VIOLATION settled_differs_from_ledger: mer_restart_\w USD/);
    assert.match(
      broken.stdout,
      /VIOLATION available_differs_from_ledger: mer_restart_a USD: the ledger's available is -?\d+; net settled/,
    );
  } finally {
    await database.drop();
  }
});
