// Use cases of the /webhooks API: register an endpoint (its signing secret shown once), read, delete,
// rotate its secret, enable or disable it, read deliveries with every attempt and send one again.
// Each write runs under the request's optional Idempotency-Key (src/platform/idempotency.ts) in
// notifications.idempotency_keys; a replay of an answer that showed a secret shows it again only while
// it is still the endpoint's secret, and the key table never holds it. Another merchant's ids are
// not found (404).
import { createHash } from 'node:crypto';
import type { Sql, TransactionSql } from '../../../platform/db/client.ts';
import { DomainError } from '../../../platform/errors.ts';
import {
  runIdempotent,
  type IdempotentAnswer,
  type KeyedRequest,
  type WorkResult,
} from '../../../platform/idempotency.ts';
import { isId, newId } from '../../../platform/ids.ts';
import type { SecretSealer } from '../../../platform/secrets.ts';
import { paymentEventTypes } from '../../events/index.ts';
import { generateWebhookSecret } from '../domain/webhook-signature.ts';
import type { DeliveryAttempt, WebhookDelivery, WebhookEndpoint } from '../domain/webhooks.ts';
import { assertDeliverableUrl } from '../infra/url-guard.ts';
import * as repository from '../infra/repository.ts';

export interface WebhookEndpointsDependencies {
  readonly sql: Sql;
  /** Seals new signing secrets and opens the current one for an idempotent replay (ADR 16). */
  readonly sealer: SecretSealer;
  readonly allowPrivate: boolean;
  readonly rotationGraceSeconds: number;
}

export const keyTable = 'notifications.idempotency_keys';

export type WebhookKeyOperation =
  | 'create_endpoint'
  | 'rotate_secret'
  | 'enable_endpoint'
  | 'disable_endpoint'
  | 'delete_endpoint'
  | 'retry_delivery';

/** The request's key (or none) for one operation, as the HTTP layer read it. */
export type WebhookKeyedRequest = Omit<KeyedRequest, 'table' | 'operation'>;

/** Deliveries listed at most (newest first). */
export const deliveriesListedMax = 100;

// ---- How endpoints and deliveries leave the API (an answer is stored as these bytes) ----

export function endpointView(endpoint: WebhookEndpoint) {
  return {
    id: endpoint.id,
    url: endpoint.url,
    eventTypes: [...endpoint.eventTypes],
    enabled: endpoint.enabled,
    disabledReason: endpoint.disabledReason,
    failureCount: endpoint.failureCount,
    previousSecretExpiresAt: endpoint.previousSecretExpiresAt?.toISOString() ?? null,
    createdAt: endpoint.createdAt.toISOString(),
  };
}

export function deliveryView(delivery: WebhookDelivery, attempts: readonly DeliveryAttempt[]) {
  return {
    id: delivery.id,
    endpointId: delivery.endpointId,
    eventId: delivery.eventId,
    eventType: delivery.eventType,
    status: delivery.status,
    attemptCount: delivery.attemptCount,
    nextAttemptAt: delivery.nextAttemptAt?.toISOString() ?? null,
    createdAt: delivery.createdAt.toISOString(),
    attempts: attempts
      .filter((attempt) => attempt.deliveryId === delivery.id)
      .map((attempt) => ({
        attemptNumber: attempt.attemptNumber,
        attemptedAt: attempt.attemptedAt.toISOString(),
        webhookTimestamp: attempt.webhookTimestamp,
        statusCode: attempt.statusCode,
        latencyMs: attempt.latencyMs,
        responseBody: attempt.responseBody,
        error: attempt.error,
        succeeded: attempt.succeeded,
      })),
  };
}

export type EndpointView = ReturnType<typeof endpointView>;
export type DeliveryView = ReturnType<typeof deliveryView>;

function notFound(kind: 'endpoint' | 'delivery'): DomainError {
  return new DomainError(`webhook_${kind}_not_found`, 404, `No such webhook ${kind}.`);
}

function json(status: number, value: unknown): IdempotentAnswer {
  return { status, body: JSON.stringify(value) };
}

function secretDigest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function keyed(request: WebhookKeyedRequest, operation: WebhookKeyOperation): KeyedRequest {
  return { ...request, table: keyTable, operation };
}

/**
 * An answer that shows a signing secret. The key table stores it without the secret, with a digest
 * of it instead (the secret is 192 random bits: the digest gives nothing away).
 */
function answerWithSecret(status: number, endpoint: WebhookEndpoint, secret: string): WorkResult {
  const view = endpointView(endpoint);
  return {
    answer: json(status, { ...view, secret }),
    stored: json(status, { ...view, secretSha256: secretDigest(secret) }),
    resourceId: endpoint.id,
  };
}

/**
 * A replay shows the secret again (as Stripe replays the first answer) while it is still the
 * endpoint's current secret; after a rotation or a delete the replay leaves it out.
 */
async function replayWithSecret(
  transaction: TransactionSql,
  sealer: SecretSealer,
  merchantId: string,
  stored: IdempotentAnswer,
): Promise<IdempotentAnswer> {
  const { secretSha256, ...endpoint } = JSON.parse(stored.body) as Record<string, unknown>;
  const secret =
    typeof endpoint['id'] === 'string'
      ? await repository.currentSecret(transaction, sealer, merchantId, endpoint['id'])
      : undefined;
  const current = secret !== undefined && secretDigest(secret) === secretSha256;
  return json(stored.status, current ? { ...endpoint, secret } : endpoint);
}

/**
 * Runs `write` with a new signing secret under the request's idempotency key: the answer shows the
 * secret, a replay shows it while it is still the endpoint's current one.
 */
function runWithNewSecret(
  dependencies: WebhookEndpointsDependencies,
  keyedRequest: KeyedRequest,
  status: number,
  write: (transaction: TransactionSql, secret: string) => Promise<WebhookEndpoint>,
) {
  return runIdempotent(
    dependencies.sql,
    keyedRequest,
    async (transaction) => {
      const secret = generateWebhookSecret();
      return answerWithSecret(status, await write(transaction, secret), secret);
    },
    {
      replay: (transaction, stored) =>
        replayWithSecret(transaction, dependencies.sealer, keyedRequest.merchantId, stored),
    },
  );
}

export interface CreateEndpointInput {
  readonly url: string;
  readonly eventTypes: readonly string[];
}

/** 201 with the endpoint and its new secret; unknown event types 422; an undeliverable URL 422. */
export async function createEndpoint(
  dependencies: WebhookEndpointsDependencies,
  request: WebhookKeyedRequest,
  input: CreateEndpointInput,
) {
  const unknown = input.eventTypes.filter((type) => !(paymentEventTypes as readonly string[]).includes(type));
  if (unknown.length > 0) {
    throw new DomainError('webhook_event_type_unknown', 422, `Unknown event types: ${unknown.join(', ')}.`, {
      knownEventTypes: paymentEventTypes,
    });
  }
  // Validation (and its DNS lookup) happens before the transaction: a refusal stores nothing.
  const url = await assertDeliverableUrl(input.url, dependencies.allowPrivate);
  const eventTypes = [...new Set(input.eventTypes)];
  return runWithNewSecret(dependencies, keyed(request, 'create_endpoint'), 201, (transaction, secret) =>
    repository.insertEndpoint(transaction, dependencies.sealer, {
      id: newId('we'),
      merchantId: request.merchantId,
      url: url.toString(),
      eventTypes,
      secret,
      createdAt: request.now,
    }),
  );
}

export async function listEndpoints(
  dependencies: WebhookEndpointsDependencies,
  merchantId: string,
): Promise<WebhookEndpoint[]> {
  return repository.listEndpoints(dependencies.sql, merchantId);
}

/** The merchant's endpoint, or 404 (another merchant's id too). */
export async function getEndpoint(
  dependencies: WebhookEndpointsDependencies,
  merchantId: string,
  id: string,
): Promise<WebhookEndpoint> {
  const endpoint = isId('we', id)
    ? await repository.findEndpoint(dependencies.sql, merchantId, id)
    : undefined;
  if (!endpoint) throw notFound('endpoint');
  return endpoint;
}

/** 204; the endpoint's pending deliveries are given up. */
export async function deleteEndpoint(
  dependencies: WebhookEndpointsDependencies,
  request: WebhookKeyedRequest,
  id: string,
) {
  return runIdempotent(dependencies.sql, keyed(request, 'delete_endpoint'), async (transaction) => {
    if (
      !isId('we', id) ||
      !(await repository.deleteEndpoint(transaction, request.merchantId, id, request.now))
    )
      throw notFound('endpoint');
    return { answer: { status: 204, body: '' }, resourceId: id };
  });
}

/** 200 with the new secret; the previous one also signs during the grace period. */
export async function rotateSecret(
  dependencies: WebhookEndpointsDependencies,
  request: WebhookKeyedRequest,
  id: string,
) {
  const { merchantId, now } = request;
  const graceUntil = new Date(now.getTime() + dependencies.rotationGraceSeconds * 1000);
  return runWithNewSecret(dependencies, keyed(request, 'rotate_secret'), 200, async (transaction, secret) => {
    const endpoint = isId('we', id)
      ? await repository.rotateSecret(
          transaction,
          dependencies.sealer,
          merchantId,
          id,
          secret,
          graceUntil,
          now,
        )
      : undefined;
    if (!endpoint) throw notFound('endpoint');
    return endpoint;
  });
}

/**
 * 200 with the endpoint. Enabling resets its failure count (failed deliveries are not resent);
 * disabling stops sending (its pending deliveries wait).
 */
export async function setEndpointEnabled(
  dependencies: WebhookEndpointsDependencies,
  request: WebhookKeyedRequest,
  id: string,
  enabled: boolean,
) {
  const change = enabled ? repository.enableEndpoint : repository.disableEndpoint;
  const operation = enabled ? 'enable_endpoint' : 'disable_endpoint';
  return runIdempotent(dependencies.sql, keyed(request, operation), async (transaction) => {
    const endpoint = isId('we', id)
      ? await change(transaction, request.merchantId, id, request.now)
      : undefined;
    if (!endpoint) throw notFound('endpoint');
    return { answer: json(200, endpointView(endpoint)), resourceId: endpoint.id };
  });
}

async function withAttempts(sql: Sql | TransactionSql, deliveries: readonly WebhookDelivery[]) {
  const attempts = await repository.attemptsOf(
    sql,
    deliveries.map((delivery) => delivery.id),
  );
  return deliveries.map((delivery) => deliveryView(delivery, attempts));
}

/** The endpoint's latest deliveries, each with every attempt; 404 for an endpoint not the merchant's. */
export async function listEndpointDeliveries(
  dependencies: WebhookEndpointsDependencies,
  merchantId: string,
  endpointId: string,
): Promise<DeliveryView[]> {
  const endpoint = await getEndpoint(dependencies, merchantId, endpointId);
  const deliveries = await repository.listDeliveries(dependencies.sql, endpoint.id, deliveriesListedMax);
  return withAttempts(dependencies.sql, deliveries);
}

/** The latest deliveries of events about one payment, to any of the merchant's endpoints. */
export async function listPaymentDeliveries(
  dependencies: WebhookEndpointsDependencies,
  merchantId: string,
  paymentId: string,
): Promise<DeliveryView[]> {
  const deliveries = await repository.listPaymentDeliveries(
    dependencies.sql,
    merchantId,
    paymentId,
    deliveriesListedMax,
  );
  return withAttempts(dependencies.sql, deliveries);
}

/** 202: the delivery is due now (same webhook-id); 409 when its endpoint is disabled. */
export async function retryDelivery(
  dependencies: WebhookEndpointsDependencies,
  request: WebhookKeyedRequest,
  id: string,
) {
  const { merchantId } = request;
  return runIdempotent(dependencies.sql, keyed(request, 'retry_delivery'), async (transaction) => {
    const delivery = isId('msg', id) ? await repository.findDelivery(transaction, merchantId, id) : undefined;
    if (!delivery) throw notFound('delivery');
    const endpoint = await repository.findEndpoint(transaction, merchantId, delivery.endpointId);
    if (!endpoint) throw notFound('delivery');
    if (!endpoint.enabled) {
      throw new DomainError('webhook_endpoint_disabled', 409, 'The endpoint of this delivery is disabled.');
    }
    const updated = await repository.scheduleDeliveryNow(transaction, delivery.id, request.now);
    const [view] = await withAttempts(transaction, [updated]);
    return { answer: json(202, view), resourceId: delivery.id };
  });
}
