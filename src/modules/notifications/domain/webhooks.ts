// The webhook records as the application speaks of them (the repository maps its snake_case rows to
// these): endpoints without their secrets, deliveries with their attempts, and a claimed delivery with
// the secrets that sign it.

/** An endpoint without its secrets (the repository unseals those only where a caller needs them). */
export interface WebhookEndpoint {
  readonly id: string;
  readonly merchantId: string;
  readonly url: string;
  readonly eventTypes: readonly string[];
  /** Until when the previous secret also signs (after a rotation). */
  readonly previousSecretExpiresAt: Date | null;
  readonly enabled: boolean;
  readonly disabledReason: string | null;
  /** Failed attempts since the last success. */
  readonly failureCount: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

export interface WebhookDelivery {
  /** The `webhook-id` header (`msg_…`), the same on every attempt. */
  readonly id: string;
  readonly endpointId: string;
  readonly merchantId: string;
  readonly eventId: string;
  readonly eventType: string;
  /** The payment the event is about (its payload's paymentId), if any. */
  readonly paymentId: string | null;
  readonly body: string;
  readonly status: DeliveryStatus;
  readonly attemptCount: number;
  readonly nextAttemptAt: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface DeliveryAttempt {
  readonly deliveryId: string;
  readonly attemptNumber: number;
  readonly attemptedAt: Date;
  /** The `webhook-timestamp` header sent (seconds). */
  readonly webhookTimestamp: number;
  readonly statusCode: number | null;
  readonly latencyMs: number;
  /** At most 1 KiB. */
  readonly responseBody: string | null;
  readonly error: string | null;
  readonly succeeded: boolean;
}

/** A delivery claimed by the sender, with its endpoint's address and signing secrets (unsealed). */
export interface DueDelivery extends WebhookDelivery {
  readonly url: string;
  readonly secret: string;
  readonly previousSecret: string | null;
  readonly previousSecretExpiresAt: Date | null;
}

/** The secrets that sign an attempt at `at`: the current one, and the previous one until it expires. */
export function signingSecrets(delivery: DueDelivery, at: Date): string[] {
  const secrets = [delivery.secret];
  if (
    delivery.previousSecret !== null &&
    delivery.previousSecretExpiresAt !== null &&
    delivery.previousSecretExpiresAt > at
  )
    secrets.push(delivery.previousSecret);
  return secrets;
}
