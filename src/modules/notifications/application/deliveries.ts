// Webhook delivery: the `webhooks` consumer group turns each payment event into one delivery per
// subscribed endpoint, and the sender job attempts due deliveries with the retry schedule. After the
// last failed retry the delivery fails, its endpoint is disabled, a notice for the merchant is stored
// and, in the same transaction, an email to the merchant's contact address is queued (messages.ts).
import {
  contextFrom,
  injectTraceHeaders,
  markSpanError,
  SpanKind,
  tracingEnabled,
  withSpan,
} from '../../../platform/tracing.ts';
import type { Sql, TransactionSql } from '../../../platform/db/client.ts';
import { newId } from '../../../platform/ids.ts';
import type { Logger } from '../../../platform/log.ts';
import type { SecretSealer } from '../../../platform/secrets.ts';
import type { EventEnvelope } from '../../events/index.ts';
import { retryDelayAfter } from '../domain/retry-schedule.ts';
import { signWebhook } from '../domain/webhook-signature.ts';
import {
  claimDueDeliveries,
  insertAttempt,
  insertDelivery,
  subscribedEndpoints,
} from '../infra/repository.ts';
import { sendWebhook } from '../infra/sender.ts';
import { queueEndpointDisabledEmail, type MerchantContactReader } from './messages.ts';

export interface DeliverySettings {
  readonly sql: Sql;
  readonly log: Logger;
  /** Opens the endpoints' sealed signing secrets (ADR 16). */
  readonly sealer: SecretSealer;
  readonly now: () => Date;
  readonly timeoutMs: number;
  readonly allowPrivate: boolean;
  readonly schedule: readonly number[];
  readonly random?: () => number;
  /** The trace context of each event (events face, ADR 23): a delivery's span joins its trace. */
  readonly traceContexts?: (eventIds: readonly string[]) => Promise<ReadonlyMap<string, string>>;
  /** The merchant's contact (identity face), for the endpoint-disabled email. */
  readonly merchantContact?: MerchantContactReader;
}

/** The consumer-group handler: one delivery per subscribed endpoint, once per (endpoint, event). */
export async function fanOut(
  transaction: TransactionSql,
  event: EventEnvelope,
  merchantId: string,
  now: Date,
): Promise<void> {
  const endpoints = await subscribedEndpoints(transaction, merchantId, event.type);
  const body = JSON.stringify(event);
  const paymentId = event.payload['paymentId'];
  for (const endpoint of endpoints) {
    await insertDelivery(transaction, {
      id: newId('msg'),
      endpoint_id: endpoint.id,
      merchant_id: merchantId,
      event_id: event.eventId,
      event_type: event.type,
      payment_id: typeof paymentId === 'string' ? paymentId : null,
      body,
      created_at: now,
    });
  }
}

export const sendBatchMax = 20;

/** Sends every due delivery (in batches); returns how many attempts were made. */
export async function sendDueDeliveries(settings: DeliverySettings, signal: AbortSignal): Promise<number> {
  let attempts = 0;
  while (!signal.aborted) {
    const now = settings.now();
    const lease = new Date(now.getTime() + settings.timeoutMs + 60_000);
    const due = await claimDueDeliveries(settings.sql, settings.sealer, now, lease, sendBatchMax);
    if (due.length === 0) break;
    const traces = tracingEnabled()
      ? await settings.traceContexts?.(due.map((delivery) => delivery.event_id)).catch(() => undefined)
      : undefined;
    await Promise.all(
      due.map((delivery) =>
        withSpan(
          `webhook.deliver ${delivery.event_type}`,
          {
            kind: SpanKind.CLIENT,
            parent: contextFrom(traces?.get(delivery.event_id)),
            attributes: { 'payflow.delivery_id': delivery.id, 'messaging.message.id': delivery.event_id },
          },
          async (span) => {
            const attemptedAt = settings.now();
            const timestamp = Math.floor(attemptedAt.getTime() / 1000);
            const secrets = [delivery.secret];
            if (
              delivery.previous_secret !== null &&
              delivery.previous_secret_expires_at !== null &&
              delivery.previous_secret_expires_at > attemptedAt
            )
              secrets.push(delivery.previous_secret);
            const result = await sendWebhook({
              url: delivery.url,
              body: delivery.body,
              timeoutMs: settings.timeoutMs,
              allowPrivate: settings.allowPrivate,
              headers: injectTraceHeaders({
                'content-type': 'application/json',
                'webhook-id': delivery.id,
                'webhook-timestamp': String(timestamp),
                'webhook-signature': signWebhook({
                  id: delivery.id,
                  timestamp,
                  body: delivery.body,
                  secrets,
                }),
              }),
            });
            const succeeded =
              result.statusCode !== undefined && result.statusCode >= 200 && result.statusCode <= 299;
            if (result.statusCode !== undefined)
              span.setAttribute('http.response.status_code', result.statusCode);
            if (!succeeded) markSpanError(span, 'webhook delivery failed');
            await record(settings, delivery, attemptedAt, timestamp, result, succeeded);
          },
        ),
      ),
    );
    attempts += due.length;
  }
  return attempts;
}

async function record(
  settings: DeliverySettings,
  delivery: { id: string; endpoint_id: string; merchant_id: string; url: string; attempt_count: number },
  attemptedAt: Date,
  timestamp: number,
  result: Awaited<ReturnType<typeof sendWebhook>>,
  succeeded: boolean,
): Promise<void> {
  const attemptNumber = delivery.attempt_count + 1;
  const now = settings.now();
  await settings.sql.begin(async (transaction) => {
    await insertAttempt(transaction, {
      delivery_id: delivery.id,
      attempt_number: attemptNumber,
      attempted_at: attemptedAt,
      webhook_timestamp: BigInt(timestamp),
      status_code: result.statusCode ?? null,
      latency_ms: result.latencyMs,
      response_body: result.responseBody ?? null,
      error: succeeded
        ? null
        : (result.error ?? `the endpoint answered ${result.statusCode ?? 'nothing'}`).slice(0, 1000),
      succeeded,
    });
    if (succeeded) {
      await transaction`
        update notifications.webhook_deliveries
        set status = 'succeeded', attempt_count = ${attemptNumber}, next_attempt_at = null, updated_at = ${now}
        where id = ${delivery.id}`;
      await transaction`
        update notifications.webhook_endpoints set failure_count = 0 where id = ${delivery.endpoint_id}`;
      return;
    }
    await transaction`
      update notifications.webhook_endpoints set failure_count = failure_count + 1
      where id = ${delivery.endpoint_id}`;
    const delay = retryDelayAfter(settings.schedule, attemptNumber, (settings.random ?? Math.random)());
    if (delay !== undefined) {
      await transaction`
        update notifications.webhook_deliveries
        set attempt_count = ${attemptNumber}, updated_at = ${now},
            -- a delete meanwhile gave the delivery up: it stays failed
            next_attempt_at = case when status = 'pending' then ${new Date(now.getTime() + delay)}::timestamptz end
        where id = ${delivery.id}`;
      return;
    }
    await transaction`
      update notifications.webhook_deliveries
      set status = 'failed', attempt_count = ${attemptNumber}, next_attempt_at = null, updated_at = ${now}
      where id = ${delivery.id}`;
    const disabled = await transaction`
      update notifications.webhook_endpoints
      set enabled = false, updated_at = ${now},
          disabled_reason = ${`delivery ${delivery.id} failed ${attemptNumber} times`}
      where id = ${delivery.endpoint_id} and enabled`;
    if (disabled.count === 0) return;
    await transaction`
      update notifications.webhook_deliveries set status = 'failed', next_attempt_at = null, updated_at = ${now}
      where endpoint_id = ${delivery.endpoint_id} and status = 'pending' and id <> ${delivery.id}`;
    const noticeId = newId('ntc');
    await transaction`
      insert into notifications.notices (id, merchant_id, kind, subject, body, created_at)
      values (${noticeId}, ${delivery.merchant_id}, 'webhook_endpoint_disabled',
              ${'Your PayFlow webhook endpoint was disabled'},
              ${`Deliveries to ${delivery.url} (endpoint ${delivery.endpoint_id}) kept failing; after ${attemptNumber} attempts at delivery ${delivery.id} the endpoint was disabled.`},
              ${now})`;
    const emailed = await queueEndpointDisabledEmail(
      transaction,
      settings.merchantContact,
      {
        noticeId,
        merchantId: delivery.merchant_id,
        endpointId: delivery.endpoint_id,
        url: delivery.url,
        deliveryId: delivery.id,
        attempts: attemptNumber,
      },
      now,
    );
    settings.log.warn(
      { endpointId: delivery.endpoint_id, merchantId: delivery.merchant_id, deliveryId: delivery.id },
      emailed
        ? 'webhook endpoint disabled after its last failed retry; merchant notice stored and email queued'
        : 'webhook endpoint disabled after its last failed retry; merchant notice stored (no merchant email)',
    );
  });
}
