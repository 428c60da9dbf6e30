// Webhook figures as Prometheus gauges, read at scrape time: deliveries waiting to be sent (or
// retried), deliveries failed for good, and endpoints disabled after their last failed retry (waiting for the merchant).
import type { Queryable } from '../../../platform/db/client.ts';
import { registerScrapedGauges } from '../../../platform/metrics.ts';
import type { PlatformContext } from '../../../platform/module.ts';

export interface WebhookStats {
  readonly deliveriesPending: number;
  readonly endpointsDisabled: number;
  readonly deliveriesFailed: number;
}

export async function webhookStats(sql: Queryable): Promise<WebhookStats> {
  const [row] = await sql<{ pending: bigint; disabled: bigint; failed: bigint }[]>`
    select (select count(*) from notifications.webhook_deliveries where status = 'pending')::bigint as pending,
           (select count(*) from notifications.webhook_deliveries where status = 'failed')::bigint as failed,
           (select count(*) from notifications.webhook_endpoints
             where not enabled and deleted_at is null)::bigint as disabled`;
  return {
    deliveriesPending: Number(row!.pending),
    endpointsDisabled: Number(row!.disabled),
    deliveriesFailed: Number(row!.failed),
  };
}

export function registerWebhookGauges(context: PlatformContext): void {
  if (!context.metrics) return;
  registerScrapedGauges<WebhookStats>(context.metrics, context.log, {
    source: 'webhooks',
    sql: context.sql,
    read: webhookStats,
    gauges: [
      {
        name: 'payflow_webhooks_deliveries_pending',
        help: 'Webhook deliveries not yet succeeded or failed for good (due now or waiting for a retry).',
        value: (stats) => stats.deliveriesPending,
      },
      {
        name: 'payflow_webhooks_deliveries_failed',
        help: 'Webhook deliveries that failed for good (every retry used up); they wait for a manual retry.',
        value: (stats) => stats.deliveriesFailed,
      },
      {
        name: 'payflow_webhooks_endpoints_disabled',
        help: 'Webhook endpoints disabled after their last failed retry and not re-enabled.',
        value: (stats) => stats.endpointsDisabled,
      },
    ],
  });
}
