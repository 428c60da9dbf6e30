// Tells the merchant about asynchronous outcomes (bank redirect decisions, failed refunds) by POSTing
// JSON to `notifyUrl`. The first attempt is awaited so the common case reaches the merchant before
// the shopper's browser does; retries run in the background with exponential backoff and jitter.
// The `webhook-id` header stays the same on every retry so the receiver can deduplicate. With a
// `notifySecret`, each attempt carries a Standard Webhooks `webhook-signature`: `v1,` + base64
// HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}`.
import { createHmac, randomUUID } from 'node:crypto';
import type { OutcomeNotification } from './contract.ts';
import { SimulatorStoppedError, type Pauses } from './pauses.ts';
import type { SimulatorLog } from './simulator-log.ts';

export const notifyAttemptsMax = 5;
export const notifyBackoffBaseMs = 200;
export const notifyAttemptTimeoutMs = 5_000;

export type Notify = (notification: OutcomeNotification) => Promise<void>;

interface NotifierSettings {
  readonly notifyUrl: string | undefined;
  readonly notifySecret?: string | undefined;
  readonly pauses: Pauses;
  readonly log: SimulatorLog;
  /** The simulator's clock (webhook-timestamp). Default Date.now. */
  readonly now?: () => number;
}

function backoffMs(attempt: number): number {
  const ceilingMs = notifyBackoffBaseMs * 2 ** (attempt - 1);
  return Math.round(ceilingMs / 2 + (Math.random() * ceilingMs) / 2);
}

/** Standard Webhooks signature of one attempt. */
export function notificationSignature(
  secret: string,
  webhookId: string,
  timestamp: string,
  body: string,
): string {
  return `v1,${createHmac('sha256', secret).update(`${webhookId}.${timestamp}.${body}`).digest('base64')}`;
}

export function createNotifier(settings: NotifierSettings): Notify {
  const { notifyUrl, pauses, log } = settings;
  if (notifyUrl === undefined) return async () => {};
  const targetUrl: string = notifyUrl;

  async function attempt(notification: OutcomeNotification, webhookId: string, attemptNumber: number) {
    try {
      const body = JSON.stringify(notification);
      const timestamp = String(Math.floor((settings.now ?? Date.now)() / 1000));
      const secret = settings.notifySecret;
      const response = await fetch(targetUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': webhookId,
          'webhook-timestamp': timestamp,
          ...(secret !== undefined && {
            'webhook-signature': notificationSignature(secret, webhookId, timestamp, body),
          }),
        },
        body,
        signal: AbortSignal.any([AbortSignal.timeout(notifyAttemptTimeoutMs), pauses.signal]),
      });
      await response.body?.cancel();
      if (response.ok) return true;
      log.warn(
        { reference: notification.reference, attemptNumber, statusCode: response.status },
        'notification refused',
      );
    } catch (error) {
      log.warn({ reference: notification.reference, attemptNumber, err: error }, 'notification failed');
    }
    return false;
  }

  async function retry(notification: OutcomeNotification, webhookId: string): Promise<void> {
    for (let attemptNumber = 2; attemptNumber <= notifyAttemptsMax; attemptNumber += 1) {
      await pauses.wait(backoffMs(attemptNumber - 1));
      if (await attempt(notification, webhookId, attemptNumber)) return;
    }
    log.error({ reference: notification.reference, attempts: notifyAttemptsMax }, 'notification abandoned');
  }

  return async (notification) => {
    const webhookId = `evt_${randomUUID()}`;
    if (await attempt(notification, webhookId, 1)) return;
    retry(notification, webhookId).catch((error: unknown) => {
      if (!(error instanceof SimulatorStoppedError)) throw error;
    });
  };
}
