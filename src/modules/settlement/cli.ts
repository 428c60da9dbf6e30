// The settlement CLI: `payflow settlement run --date`, `payflow jobs list|show|restart`,
// `payflow merchants pricing set|show`. Results are JSON on stdout; progress goes to stderr on a
// terminal only.
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { reconcileReport } from './application/reconcile.ts';
import { DomainError } from '../../platform/errors.ts';
import type { CliCommand, CommandContext } from '../../platform/module.ts';
import { settlementDependencies } from './application/dependencies.ts';
import { runSettlement, settlementJobName } from './application/settlement-job.ts';
import { formatFixedFees, parseFixedFees } from './domain/pricing.ts';
import {
  findJobRun,
  findPricing,
  listJobRuns,
  settlementViolations,
  upsertPricing,
  type JobRunRow,
} from './infra/settlement-repository.ts';

function fail(message: string): number {
  process.stderr.write(`payflow: ${message}\n`);
  return 2;
}

function json(context: CommandContext, value: unknown): void {
  context.print(
    JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? String(item) : item), 2),
  );
}

function describeRun(row: JobRunRow) {
  return {
    id: row.id,
    job: row.job_name,
    parameters: row.params_key,
    status: row.status,
    chunksDone: row.chunks_done,
    itemsDone: Number(row.items_done),
    attempts: row.attempts,
    startedAt: row.started_at.toISOString(),
    finishedAt: row.finished_at?.toISOString() ?? null,
    ...(row.last_error !== null && { lastError: row.last_error }),
    ...(row.summary !== null && { summary: row.summary }),
  };
}

async function settle(date: string, context: CommandContext): Promise<number> {
  const dependencies = settlementDependencies(context);
  const tty = process.stderr.isTTY;
  try {
    const result = await runSettlement(dependencies, date, (progress) => {
      if (tty) process.stderr.write(`\rsettling ${date}: ${progress.chunks} chunks, ${progress.items} items`);
    });
    if (tty) process.stderr.write('\n');
    if (result.outcome === 'already_completed')
      process.stderr.write(
        `payflow: settlement of ${date} already completed (${result.runId}); nothing changed\n`,
      );
    json(context, result);
    return 0;
  } catch (error) {
    if (error instanceof DomainError) {
      process.stderr.write(`payflow: ${error.message} (${error.code})\n`);
      return 1;
    }
    throw error;
  }
}

export const settlementCommands: readonly CliCommand[] = [
  {
    path: ['settlement', 'verify'],
    summary:
      "Check settlement's invariants: batch totals equal their items; payouts never exceed the net settled.",
    usage: 'payflow settlement verify',
    needsDatabase: true,
    async run(_args, context) {
      const violations = await settlementViolations(context.sql);
      for (const violation of violations) context.print(`VIOLATION ${violation.check}: ${violation.detail}`);
      context.print(
        `settlement verify: ${violations.length === 0 ? 'OK' : `${violations.length} violation(s)`}`,
      );
      return violations.length === 0 ? 0 : 1;
    },
  },
  {
    path: ['reconcile'],
    summary: "Reconcile an acquirer settlement report (CSV) against PayFlow's settlement items.",
    usage: 'payflow reconcile --file PATH [--date YYYY-MM-DD]',
    needsDatabase: true,
    async run(args, context) {
      const { values } = parseArgs({
        args: [...args],
        options: { file: { type: 'string' }, date: { type: 'string' } },
        strict: true,
      });
      if (!values.file) return fail('reconcile needs --file PATH');
      try {
        const run = await reconcileReport(settlementDependencies(context), createReadStream(values.file), {
          source: path.basename(values.file),
          ...(values.date !== undefined && { date: values.date }),
        });
        if (run.alreadyReconciled)
          process.stderr.write(
            `payflow: this report was reconciled before (${run.runId}); nothing changed\n`,
          );
        json(context, run);
        const open = Object.entries(run.counts).filter(
          ([outcome, count]) => outcome !== 'matched' && count > 0,
        );
        return open.length > 0 ? 1 : 0;
      } catch (error) {
        if (error instanceof DomainError) {
          process.stderr.write(`payflow: ${error.message} (${error.code})\n`);
          return 1;
        }
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return fail(`no file ${values.file}`);
        throw error;
      }
    },
  },
  {
    path: ['settlement', 'run'],
    summary: "Settle a day's captures and refunds: batches, journals, payouts (once per date).",
    usage: 'payflow settlement run --date YYYY-MM-DD',
    needsDatabase: true,
    async run(args, context) {
      const { values } = parseArgs({ args: [...args], options: { date: { type: 'string' } }, strict: true });
      if (!values.date) return fail('settlement run needs --date YYYY-MM-DD');
      return settle(values.date, context);
    },
  },
  {
    path: ['jobs', 'list'],
    summary: 'List batch job instances (settlement runs) with their status and progress.',
    usage: 'payflow jobs list',
    needsDatabase: true,
    async run(_args, context) {
      json(context, (await listJobRuns(context.sql, 50)).map(describeRun));
    },
  },
  {
    path: ['jobs', 'show'],
    summary: 'Show one job instance by id (job_…) or parameters (simulator:2026-12-03).',
    usage: 'payflow jobs show <job id|parameters>',
    needsDatabase: true,
    async run(args, context) {
      const key = args[0];
      if (!key) return fail('jobs show needs a job id or its parameters');
      const row = await findJobRun(context.sql, key);
      if (!row) return fail(`no job ${key}`);
      json(context, describeRun(row));
    },
  },
  {
    path: ['jobs', 'restart'],
    summary: 'Restart a failed or interrupted job instance from its last committed chunk.',
    usage: 'payflow jobs restart <job id|parameters>',
    needsDatabase: true,
    async run(args, context) {
      const key = args[0];
      if (!key) return fail('jobs restart needs a job id or its parameters');
      const row = await findJobRun(context.sql, key);
      if (!row) return fail(`no job ${key}`);
      if (row.job_name !== settlementJobName) return fail(`job ${row.job_name} cannot be restarted`);
      return settle(String(row.params['date']), context);
    },
  },
  {
    path: ['merchants', 'pricing', 'set'],
    summary: "Set a merchant's price per capture: basis points and fixed fees per currency.",
    usage: 'payflow merchants pricing set --merchant <id> --bps <0-10000> [--fixed USD:30,EUR:25]',
    needsDatabase: true,
    async run(args, context) {
      const { values } = parseArgs({
        args: [...args],
        options: { merchant: { type: 'string' }, bps: { type: 'string' }, fixed: { type: 'string' } },
        strict: true,
      });
      if (!values.merchant || values.bps === undefined)
        return fail('merchants pricing set needs --merchant <id> --bps <basis points>');
      if (!/^\d{1,5}$/.test(values.bps) || Number(values.bps) > 10_000)
        return fail(`--bps must be an integer from 0 to 10000 (got "${values.bps}")`);
      let fixedFees;
      try {
        fixedFees = parseFixedFees(values.fixed ?? '');
      } catch (error) {
        return fail(`--fixed: ${(error as Error).message}`);
      }
      const pricing = { percentBps: Number(values.bps), fixedFees };
      await upsertPricing(context.sql, values.merchant, pricing, context.clock.now());
      json(context, {
        merchantId: values.merchant,
        percentBps: pricing.percentBps,
        fixed: formatFixedFees(fixedFees),
      });
    },
  },
  {
    path: ['merchants', 'pricing', 'show'],
    summary: "Show a merchant's price per capture (its own, or the default).",
    usage: 'payflow merchants pricing show --merchant <id>',
    needsDatabase: true,
    async run(args, context) {
      const { values } = parseArgs({
        args: [...args],
        options: { merchant: { type: 'string' } },
        strict: true,
      });
      if (!values.merchant) return fail('merchants pricing show needs --merchant <id>');
      const own = await findPricing(context.sql, values.merchant);
      const pricing = own ?? settlementDependencies(context).defaultPricing;
      json(context, {
        merchantId: values.merchant,
        percentBps: pricing.percentBps,
        fixed: formatFixedFees(pricing.fixedFees),
        source: own ? 'merchant' : 'default',
      });
    },
  },
];
