// The settlement module (ADR 19): the money-out half. It turns captures and refunds (from payments'
// events) into settlement batches with their ledger journals, pays merchants out through a bank,
// and shows both to merchants. Its face: run a day's settlement and process payouts now.
import type { ModuleDefinition, Job } from '../../platform/module.ts';
import type { RequestAuthenticator } from '../../platform/http/auth.ts';
import type { EventsFace } from '../events/index.ts';
import { settlementDependencies } from './application/dependencies.ts';
import { recordSettlementItem, settlementEventTypes } from './application/items.ts';
import { processPayouts } from './application/payouts.ts';
import { runSettlement, settlementJobName, type SettlementRunResult } from './application/settlement-job.ts';
import { settlementCommands } from './cli.ts';
import { registerSettlementRoutes } from './http/routes.ts';
import { httpBank } from './infra/bank-client.ts';
import { findJobRun } from './infra/settlement-repository.ts';
import { registerScrapedGauges } from '../../platform/metrics.ts';
import { settlementSettings } from './settings.ts';

// The entry points `payflow settlement run` and `payflow reconcile` call, for the settlement bench.
export { runSettlement, settlementDependencies };
export { reconcileReport } from './application/reconcile.ts';

export interface SettlementFace {
  runSettlement(date: string): Promise<SettlementRunResult>;
  /** One pass over open payouts now (the worker does it every few seconds). */
  processPayouts(): Promise<number>;
}

export const payoutPollIntervalMs = 2_000;

export const settlementModule: ModuleDefinition = {
  manifest: {
    name: 'settlement',
    settings: settlementSettings,
    migrationsDirectory: new URL('./migrations', import.meta.url).pathname,
    commands: settlementCommands,
  },
  async create(context, faces) {
    const dependencies = settlementDependencies(context);
    const events = faces['events'] as EventsFace | undefined;
    const identity = faces['identity'] as { readonly authenticator: RequestAuthenticator } | undefined;
    const payments = faces['payments'] as { readonly acquirerUrl?: string } | undefined;
    events?.subscribe('settlement', settlementEventTypes, (event, { transaction, merchantId }) =>
      recordSettlementItem(transaction, event, merchantId),
    );
    const bankUrl = context.config.acquirerUrl ?? payments?.acquirerUrl;
    const bank = bankUrl ? httpBank(bankUrl) : undefined;
    const face: SettlementFace = {
      runSettlement: (date) => runSettlement(dependencies, date),
      processPayouts: () => (bank ? processPayouts(dependencies, bank) : Promise.resolve(0)),
    };
    if (context.metrics)
      registerScrapedGauges<{ job_name: string; status: string; jobs: bigint; rows: bigint }[]>(
        context.metrics,
        context.log,
        {
          source: 'settlement jobs',
          sql: context.sql,
          read: (sql) => sql`
            select job_name, status, count(*)::bigint as jobs, coalesce(sum(items_done), 0)::bigint as rows
            from settlement.job_runs group by job_name, status`,
          gauges: [
            {
              name: 'payflow_batch_jobs',
              help: 'Batch job instances (settlement runs, reconciliation imports) by job and status.',
              labelNames: ['job', 'status'],
              value: (rows) =>
                rows.map((row) => ({
                  labels: { job: row.job_name, status: row.status },
                  value: Number(row.jobs),
                })),
            },
            {
              name: 'payflow_batch_job_rows',
              help: 'Items (settlement) or report rows (reconciliation) committed by batch jobs, by job and status; a running import grows by one chunk at a time.',
              labelNames: ['job', 'status'],
              value: (rows) =>
                rows.map((row) => ({
                  labels: { job: row.job_name, status: row.status },
                  value: Number(row.rows),
                })),
            },
          ],
        },
      );
    const jobs: Job[] = [
      {
        name: 'settlement.payouts',
        intervalMs: payoutPollIntervalMs,
        run: async (signal) => void (bank && (await processPayouts(dependencies, bank, signal))),
      },
    ];
    const schedule = context.settings(settlementSettings).settlementSchedule;
    if (schedule !== 'off') {
      const [hours, minutes] = schedule.split(':').map(Number) as [number, number];
      jobs.push({
        name: 'settlement.daily',
        intervalMs: 60_000,
        async run() {
          const now = context.clock.now();
          const due = new Date(now);
          due.setUTCHours(hours, minutes, 0, 0);
          if (now < due) return;
          const yesterday = new Date(now.getTime() - 86_400_000).toISOString().slice(0, 10);
          const existing = await findJobRun(context.sql, `${dependencies.acquirer}:${yesterday}`);
          if (existing?.status === 'completed' && existing.job_name === settlementJobName) return;
          await runSettlement(dependencies, yesterday);
        },
      });
    }
    return {
      name: 'settlement',
      face,
      jobs,
      registerRoutes(app) {
        if (!identity) {
          context.log.warn('settlement: no identity module, so its routes are not served');
          return;
        }
        registerSettlementRoutes(app, {
          ...dependencies,
          authenticator: identity.authenticator,
          acquirerUrl: bankUrl?.replace(/\/+$/, ''),
        });
      },
    };
  },
};
