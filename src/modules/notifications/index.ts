// The notifications module: signed webhooks (Standard Webhooks 1.0) to merchant endpoints. The
// `webhooks` consumer group turns payment events into deliveries; the `webhooks-sender` job sends
// them with retries; `src/webhooks.ts` re-exports the receiver helper (verifyWebhook) for merchants.
// Email and SMS: the `receipts` consumer group queues payers' receipts, the webhook sender queues the
// endpoint-disabled email, and the `messages-sender` job sends them (application/messaging.ts).
import type { ModuleDefinition } from '../../platform/module.ts';
import type { RequestAuthenticator } from '../../platform/http/auth.ts';
import { paymentEventTypes, type EventsFace } from '../events/index.ts';
import type { IdentityFace } from '../identity/index.ts';
import type { PaymentsFace } from '../payments/index.ts';
import { fanOut, sendDueDeliveries } from './application/deliveries.ts';
import { startMessaging } from './application/messaging.ts';
import { parseRetrySchedule } from './domain/retry-schedule.ts';
import { registerWebhookRoutes } from './http/routes.ts';
import { keyTable } from './application/webhook-endpoints.ts';
import { keyReaperJob } from '../../platform/idempotency.ts';
import { registerWebhookGauges } from './infra/webhook-metrics.ts';
import { secretBinding } from './infra/repository.ts';
import { openSecretSealer } from '../../platform/secrets.ts';
import { sealClearWebhookSecrets } from './application/seal-webhook-secrets.ts';
import { notificationsSettings } from './settings.ts';

export {
  generateWebhookSecret,
  signWebhook,
  verifyWebhook,
  WebhookVerificationError,
  type WebhookVerificationErrorCode,
} from './domain/webhook-signature.ts';

type Authenticating = { readonly authenticator: RequestAuthenticator } & Partial<
  Pick<IdentityFace, 'merchantContact'>
>;

export const notificationsModule: ModuleDefinition = {
  manifest: {
    name: 'notifications',
    settings: notificationsSettings,
    migrationsDirectory: new URL('./migrations', import.meta.url).pathname,
    sealedColumns: (['secret_sealed', 'previous_secret_sealed'] as const).map((column) => ({
      table: 'notifications.webhook_endpoints',
      idColumn: 'id',
      column,
      binding: (id: string) => secretBinding(id, column),
    })),
  },
  async create(context, faces) {
    const identity = faces['identity'] as Authenticating | undefined;
    const events = faces['events'] as EventsFace | undefined;
    const schedule = parseRetrySchedule(context.settings(notificationsSettings).webhookRetrySchedule);
    // Webhook signing secrets are sealed at rest (ADR 16); a wrong key stops the start here.
    const sealer = openSecretSealer(context.config, context.log);
    const sealed = await sealClearWebhookSecrets(context.sql, sealer);
    if (sealed > 0) context.log.info({ sealed }, 'notifications: sealed webhook secrets stored in clear');
    const now = () => context.clock.now();
    events?.subscribe('webhooks', paymentEventTypes, async (event, { transaction, merchantId }) =>
      fanOut(transaction, event, merchantId, now()),
    );
    if (!events) context.log.warn('notifications: no events module, so no webhook is ever delivered');
    registerWebhookGauges(context);
    const payments = faces['payments'] as Pick<PaymentsFace, 'receiptContact'> | undefined;
    const messaging = startMessaging(context, { identity, events, payments });
    return {
      name: 'notifications',
      jobs: [
        {
          name: 'webhooks-sender',
          intervalMs: context.settings(notificationsSettings).webhookPollIntervalMs,
          run: async (signal) =>
            void (await sendDueDeliveries(
              {
                sql: context.sql,
                log: context.log,
                sealer,
                now,
                timeoutMs: context.settings(notificationsSettings).webhookTimeoutMs,
                allowPrivate: context.settings(notificationsSettings).webhookAllowPrivate,
                schedule,
                merchantContact: messaging.merchantContact,
                ...(events && {
                  traceContexts: (ids: readonly string[]) => events.traceContexts(context.sql, ids),
                }),
              },
              signal,
            )),
        },
        messaging.job,
        keyReaperJob({
          name: 'notifications.reap-idempotency-keys',
          sql: context.sql,
          table: keyTable,
          retentionHours: context.config.idempotencyKeyRetentionHours,
          now,
          log: context.log,
        }),
      ],
      close: async () => messaging.close(),
      registerRoutes(app) {
        if (identity === undefined) {
          context.log.warn('notifications: no identity module, so /webhooks is not served');
          return;
        }
        registerWebhookRoutes(app, {
          sql: context.sql,
          clock: context.clock,
          authenticator: identity.authenticator,
          allowPrivate: context.settings(notificationsSettings).webhookAllowPrivate,
          rotationGraceSeconds: context.settings(notificationsSettings).webhookRotationGraceSeconds,
          sealer,
        });
      },
    };
  },
};
