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
import { signingSecrets, type DueDelivery } from '../domain/webhooks.ts';
import {
  claimDueDeliveries,
  countEndpointFailure,
  disableFailingEndpoint,
  failDelivery,
  failPendingDeliveries,
  insertAttempt,
  insertDelivery,
  insertNotice,
  markDeliverySucceeded,
  scheduleDeliveryRetry,
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
      endpointId: endpoint.id,
      merchantId,
      eventId: event.eventId,
      eventType: event.type,
      paymentId: typeof paymentId === 'string' ? paymentId : null,
      body,
      createdAt: now,
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
      ? await settings.traceContexts?.(due.map((delivery) => delivery.eventId)).catch(() => undefined)
      : undefined;
    await Promise.all(
      due.map((delivery) =>
        withSpan(
          `webhook.deliver ${delivery.eventType}`,
          {
            kind: SpanKind.CLIENT,
            parent: contextFrom(traces?.get(delivery.eventId)),
            attributes: { 'payflow.delivery_id': delivery.id, 'messaging.message.id': delivery.eventId },
          },
          async (span) => {
            const attemptedAt = settings.now();
            const timestamp = Math.floor(attemptedAt.getTime() / 1000);
            const secrets = signingSecrets(delivery, attemptedAt);
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
  delivery: Pick<DueDelivery, 'id' | 'endpointId' | 'merchantId' | 'url' | 'attemptCount'>,
  attemptedAt: Date,
  timestamp: number,
  result: Awaited<ReturnType<typeof sendWebhook>>,
  succeeded: boolean,
): Promise<void> {
  const attemptNumber = delivery.attemptCount + 1;
  const now = settings.now();
  await settings.sql.begin(async (transaction) => {
    await insertAttempt(transaction, delivery.merchantId, {
      deliveryId: delivery.id,
      attemptNumber,
      attemptedAt,
      webhookTimestamp: timestamp,
      statusCode: result.statusCode ?? null,
      latencyMs: result.latencyMs,
      responseBody: result.responseBody ?? null,
      error: succeeded
        ? null
        : (result.error ?? `the endpoint answered ${result.statusCode ?? 'nothing'}`).slice(0, 1000),
      succeeded,
    });
    if (succeeded) {
      await markDeliverySucceeded(transaction, delivery, attemptNumber, now);
      return;
    }
    await countEndpointFailure(transaction, delivery.endpointId);
    const delay = retryDelayAfter(settings.schedule, attemptNumber, (settings.random ?? Math.random)());
    if (delay !== undefined) {
      await scheduleDeliveryRetry(
        transaction,
        delivery.id,
        attemptNumber,
        new Date(now.getTime() + delay),
        now,
      );
      return;
    }
    await failDelivery(transaction, delivery.id, attemptNumber, now);
    const disabled = await disableFailingEndpoint(
      transaction,
      delivery.endpointId,
      `delivery ${delivery.id} failed ${attemptNumber} times`,
      now,
    );
    if (!disabled) return;
    await failPendingDeliveries(transaction, delivery.endpointId, now, delivery.id);
    const noticeId = newId('ntc');
    await insertNotice(transaction, {
      id: noticeId,
      merchantId: delivery.merchantId,
      kind: 'webhook_endpoint_disabled',
      subject: 'Your PayFlow webhook endpoint was disabled',
      body: `Deliveries to ${delivery.url} (endpoint ${delivery.endpointId}) kept failing; after ${attemptNumber} attempts at delivery ${delivery.id} the endpoint was disabled.`,
      createdAt: now,
    });
    const emailed = await queueEndpointDisabledEmail(
      transaction,
      settings.merchantContact,
      {
        noticeId,
        merchantId: delivery.merchantId,
        endpointId: delivery.endpointId,
        url: delivery.url,
        deliveryId: delivery.id,
        attempts: attemptNumber,
      },
      now,
    );
    settings.log.warn(
      { endpointId: delivery.endpointId, merchantId: delivery.merchantId, deliveryId: delivery.id },
      emailed
        ? 'webhook endpoint disabled after its last failed retry; merchant notice stored and email queued'
        : 'webhook endpoint disabled after its last failed retry; merchant notice stored (no merchant email)',
    );
  });
}
