// The settlement CLI: `payflow settlement run --date`, `payflow jobs list|show|restart`,
// `payflow merchants pricing set|show`. Results are JSON on stdout; progress goes to stderr on a
// terminal only.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { reconcileReport, reconciliationJobName } from './application/reconcile.ts';
import { printJson, reportDomainError, usageError } from '../../platform/cli.ts';
import type { CliCommand, CommandContext } from '../../platform/module.ts';
import { ledgerFace } from '../ledger/index.ts';
import { settlementDependencies } from './application/dependencies.ts';
import { verifySettlement } from './application/verify-settlement.ts';
import { runSettlement, settlementJobName } from './application/settlement-job.ts';
import { formatFixedFees, parseFixedFees } from './domain/pricing.ts';
import {
  findJobRun,
  findPricing,
  listJobRuns,
  upsertPricing,
  jobRunView,
} from './infra/settlement-repository.ts';

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
    printJson(context, result);
    return 0;
  } catch (error) {
    return reportDomainError(error);
  }
}

async function reconcile(
  file: string,
  date: string | undefined,
  context: CommandContext,
  chunkSize?: string,
): Promise<number> {
  const tty = process.stderr.isTTY;
  try {
    const run = await reconcileReport(settlementDependencies(context), file, {
      source: path.basename(file),
      ...(date !== undefined && { date }),
      ...(chunkSize !== undefined && { chunkSize: Number(chunkSize) }),
      onProgress: (progress) => {
        if (tty)
          process.stderr.write(
            `\rreconciling ${path.basename(file)}: ${progress.rows}/${progress.totalRows} rows, ${progress.chunks} chunks`,
          );
      },
    });
    if (tty) process.stderr.write('\n');
    if (run.alreadyReconciled)
      process.stderr.write(`payflow: this report was reconciled before (${run.runId}); nothing changed\n`);
    else if (run.resumedAfterRows !== undefined)
      process.stderr.write(
        `payflow: resumed an interrupted import after its first ${run.resumedAfterRows} rows (committed before)\n`,
      );
    printJson(context, run);
    const open = Object.entries(run.counts).filter(([outcome, count]) => outcome !== 'matched' && count > 0);
    return open.length > 0 ? 1 : 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return usageError(`no file ${file}`);
    return reportDomainError(error);
  }
}

export const settlementCommands: readonly CliCommand[] = [
  {
    path: ['settlement', 'verify'],
    summary:
      "Check settlement's invariants and its agreement with the ledger (settled, available, receivable).",
    usage: 'payflow settlement verify',
    needsDatabase: true,
    async run(_args, context) {
      const report = await verifySettlement(context.sql, ledgerFace);
      for (const violation of report.violations)
        context.print(`VIOLATION ${violation.check}: ${violation.detail}`);
      for (const pending of report.inFlight)
        context.print(
          `in flight: ${pending.merchantId} ${pending.currency}: ${pending.amount} captured less refunded in the ledger, not yet a settlement item (events the worker has not consumed yet)`,
        );
      context.print(
        `settlement verify: ${report.pairsChecked} merchant currencies checked against the ledger; ${
          report.violations.length === 0 ? 'OK' : `${report.violations.length} violation(s)`
        }`,
      );
      return report.violations.length === 0 ? 0 : 1;
    },
  },
  {
    path: ['reconcile'],
    summary: "Reconcile an acquirer settlement report (CSV) against PayFlow's settlement items.",
    usage: 'payflow reconcile --file PATH [--date YYYY-MM-DD] [--chunk-size N]',
    needsDatabase: true,
    async run(args, context) {
      const { values } = parseArgs({
        args: [...args],
        options: { file: { type: 'string' }, date: { type: 'string' }, 'chunk-size': { type: 'string' } },
        strict: true,
      });
      if (!values.file) return usageError('reconcile needs --file PATH');
      if (values['chunk-size'] !== undefined && !/^[1-9]\d{0,5}$/.test(values['chunk-size']))
        return usageError(`--chunk-size must be a positive integer (got "${values['chunk-size']}")`);
      return reconcile(values.file, values.date, context, values['chunk-size']);
    },
  },
  {
    path: ['settlement', 'run'],
    summary: "Settle a day's captures and refunds: batches, journals, payouts (once per date).",
    usage: 'payflow settlement run --date YYYY-MM-DD',
    needsDatabase: true,
    async run(args, context) {
      const { values } = parseArgs({ args: [...args], options: { date: { type: 'string' } }, strict: true });
      if (!values.date) return usageError('settlement run needs --date YYYY-MM-DD');
      return settle(values.date, context);
    },
  },
  {
    path: ['jobs', 'list'],
    summary: 'List batch job instances (settlement runs, report imports) with their status and progress.',
    usage: 'payflow jobs list',
    needsDatabase: true,
    async run(_args, context) {
      printJson(context, (await listJobRuns(context.sql, 50)).map(jobRunView));
    },
  },
  {
    path: ['jobs', 'show'],
    summary: 'Show one job instance by id (job_…) or parameters (simulator:2026-12-03).',
    usage: 'payflow jobs show <job id|parameters>',
    needsDatabase: true,
    async run(args, context) {
      const key = args[0];
      if (!key) return usageError('jobs show needs a job id or its parameters');
      const row = await findJobRun(context.sql, key);
      if (!row) return usageError(`no job ${key}`);
      printJson(context, jobRunView(row));
    },
  },
  {
    path: ['jobs', 'restart'],
    summary: 'Restart a failed or interrupted job instance from its last committed chunk.',
    usage: 'payflow jobs restart <job id|parameters>',
    needsDatabase: true,
    async run(args, context) {
      const key = args[0];
      if (!key) return usageError('jobs restart needs a job id or its parameters');
      const row = await findJobRun(context.sql, key);
      if (!row) return usageError(`no job ${key}`);
      if (row.job_name === reconciliationJobName) {
        const file = row.params['file'];
        if (typeof file !== 'string')
          return usageError(`job ${row.id} imported an upload: upload the same report again to resume it`);
        return reconcile(file, row.params['date'] as string | undefined, context);
      }
      if (row.job_name !== settlementJobName) return usageError(`job ${row.job_name} cannot be restarted`);
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
        return usageError('merchants pricing set needs --merchant <id> --bps <basis points>');
      if (!/^\d{1,5}$/.test(values.bps) || Number(values.bps) > 10_000)
        return usageError(`--bps must be an integer from 0 to 10000 (got "${values.bps}")`);
      let fixedFees;
      try {
        fixedFees = parseFixedFees(values.fixed ?? '');
      } catch (error) {
        return usageError(`--fixed: ${(error as Error).message}`);
      }
      const pricing = { percentBps: Number(values.bps), fixedFees };
      await upsertPricing(context.sql, values.merchant, pricing, context.clock.now());
      printJson(context, {
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
      if (!values.merchant) return usageError('merchants pricing show needs --merchant <id>');
      const own = await findPricing(context.sql, values.merchant);
      const pricing = own ?? settlementDependencies(context).defaultPricing;
      printJson(context, {
        merchantId: values.merchant,
        percentBps: pricing.percentBps,
        fixed: formatFixedFees(pricing.fixedFees),
        source: own ? 'merchant' : 'default',
      });
    },
  },
];
