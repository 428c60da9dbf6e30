// /webhooks routes: merchants register endpoints (the signing secret is shown once), rotate secrets,
// enable a disabled endpoint again, read deliveries with every attempt and retry a delivery. The
// merchant comes from the token; another merchant's ids answer 404. Every POST and DELETE honours an
// optional Idempotency-Key (src/platform/idempotency.ts); a replay of an answer that showed a secret
// shows it again only while it is still the endpoint's secret, and the key table never holds it.
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { HttpApp } from '../../../platform/http/app.ts';
import { merchantIdOf, requireScopes, type RequestAuthenticator } from '../../../platform/http/auth.ts';
import type { Sql } from '../../../platform/db/client.ts';
import { DomainError } from '../../../platform/errors.ts';
import { isId, newId } from '../../../platform/ids.ts';
import type { Clock } from '../../../platform/clock.ts';
import type { SecretSealer } from '../../../platform/secrets.ts';
import {
  fingerprintOfRequest,
  optionalIdempotencyKey,
  runIdempotent,
  sendAnswer,
  type IdempotentAnswer,
  type KeyedRequest,
  type WorkResult,
} from '../../../platform/idempotency.ts';
import type { TransactionSql } from '../../../platform/db/client.ts';
import { paymentEventTypes } from '../../events/index.ts';
import { generateWebhookSecret } from '../domain/webhook-signature.ts';
import { assertDeliverableUrl } from '../infra/url-guard.ts';
import {
  attemptsOf,
  deleteEndpoint,
  disableEndpoint,
  enableEndpoint,
  findDelivery,
  currentSecret,
  findEndpoint,
  insertEndpoint,
  listDeliveries,
  listEndpoints,
  listPaymentDeliveries,
  rotateSecret,
  scheduleDeliveryNow,
  type AttemptRow,
  type DeliveryRow,
  type EndpointRow,
} from '../infra/repository.ts';

export interface WebhookRouteDependencies {
  readonly sql: Sql;
  readonly clock: Clock;
  readonly authenticator: RequestAuthenticator;
  readonly allowPrivate: boolean;
  readonly rotationGraceSeconds: number;
  /** Seals new signing secrets and opens the current one for an idempotent replay (ADR 16). */
  readonly sealer: SecretSealer;
}

const Endpoint = Type.Object({
  id: Type.String({ description: '`we_…`' }),
  url: Type.String(),
  eventTypes: Type.Array(Type.String()),
  enabled: Type.Boolean(),
  disabledReason: Type.Union([Type.String(), Type.Null()]),
  failureCount: Type.Integer({ description: 'Failed attempts since the last success.' }),
  previousSecretExpiresAt: Type.Union([Type.String(), Type.Null()], {
    description: 'Until when the previous secret also signs (after a rotation).',
  }),
  createdAt: Type.String(),
});
const EndpointWithSecret = Type.Intersect([
  Endpoint,
  Type.Object({ secret: Type.String({ description: 'The `whsec_…` signing secret, shown only now.' }) }),
]);
const Attempt = Type.Object({
  attemptNumber: Type.Integer(),
  attemptedAt: Type.String(),
  webhookTimestamp: Type.Integer(),
  statusCode: Type.Union([Type.Integer(), Type.Null()]),
  latencyMs: Type.Integer(),
  responseBody: Type.Union([Type.String(), Type.Null()], { description: 'At most 1 KiB.' }),
  error: Type.Union([Type.String(), Type.Null()]),
  succeeded: Type.Boolean(),
});
const Delivery = Type.Object({
  id: Type.String({ description: 'The `webhook-id` header (`msg_…`), the same on every attempt.' }),
  endpointId: Type.String(),
  eventId: Type.String(),
  eventType: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')]),
  attemptCount: Type.Integer(),
  nextAttemptAt: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  attempts: Type.Array(Attempt),
});
const EndpointParams = Type.Object({ id: Type.String({ maxLength: 100 }) });
const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      description:
        'Optional: 1 to 255 visible ASCII characters. A retry with the same key gets the first answer again.',
    }),
  ),
});
const CreateEndpoint = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048 }),
    eventTypes: Type.Array(Type.String({ maxLength: 100 }), { minItems: 1, maxItems: 50 }),
  },
  { additionalProperties: false },
);

function endpointJson(row: EndpointRow) {
  return {
    id: row.id,
    url: row.url,
    eventTypes: row.event_types,
    enabled: row.enabled,
    disabledReason: row.disabled_reason,
    failureCount: row.failure_count,
    previousSecretExpiresAt: row.previous_secret_expires_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
  };
}

function deliveryJson(row: DeliveryRow, attempts: readonly AttemptRow[]) {
  return {
    id: row.id,
    endpointId: row.endpoint_id,
    eventId: row.event_id,
    eventType: row.event_type,
    status: row.status,
    attemptCount: row.attempt_count,
    nextAttemptAt: row.next_attempt_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
    attempts: attempts
      .filter((attempt) => attempt.delivery_id === row.id)
      .map((attempt) => ({
        attemptNumber: attempt.attempt_number,
        attemptedAt: attempt.attempted_at.toISOString(),
        webhookTimestamp: Number(attempt.webhook_timestamp),
        statusCode: attempt.status_code,
        latencyMs: attempt.latency_ms,
        responseBody: attempt.response_body,
        error: attempt.error,
        succeeded: attempt.succeeded,
      })),
  };
}

function notFound(kind: 'endpoint' | 'delivery'): DomainError {
  return new DomainError(`webhook_${kind}_not_found`, 404, `No such webhook ${kind}.`);
}

export const keyTable = 'notifications.idempotency_keys';

type KeyOperation =
  | 'create_endpoint'
  | 'rotate_secret'
  | 'enable_endpoint'
  | 'disable_endpoint'
  | 'delete_endpoint'
  | 'retry_delivery';

function json(status: number, value: unknown): IdempotentAnswer {
  return { status, body: JSON.stringify(value) };
}

function secretDigest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/**
 * An answer that shows a signing secret. The key table stores it without the secret, with a digest
 * of it instead (the secret is 192 random bits: the digest gives nothing away).
 */
function answerWithSecret(status: number, row: EndpointRow, secret: string): WorkResult {
  const endpoint = endpointJson(row);
  return {
    answer: json(status, { ...endpoint, secret }),
    stored: json(status, { ...endpoint, secretSha256: secretDigest(secret) }),
    resourceId: row.id,
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
      ? await currentSecret(transaction, sealer, merchantId, endpoint['id'])
      : undefined;
  const current = secret !== undefined && secretDigest(secret) === secretSha256;
  return json(stored.status, current ? { ...endpoint, secret } : endpoint);
}

export function registerWebhookRoutes(app: HttpApp, dependencies: WebhookRouteDependencies): void {
  const { sql, clock } = dependencies;
  const read = requireScopes(dependencies.authenticator, 'webhooks:read');
  const write = requireScopes(dependencies.authenticator, 'webhooks:write');
  const security = [{ bearer: [] }];
  const tags = ['webhooks'];

  async function ownEndpoint(merchantId: string, id: string): Promise<EndpointRow> {
    const row = isId('we', id) ? await findEndpoint(sql, merchantId, id) : undefined;
    if (!row) throw notFound('endpoint');
    return row;
  }

  function keyed(request: FastifyRequest, operation: KeyOperation): KeyedRequest {
    return {
      table: keyTable,
      merchantId: merchantIdOf(request),
      key: optionalIdempotencyKey(request.headers['idempotency-key']),
      operation,
      fingerprint: fingerprintOfRequest(request),
      now: clock.now(),
    };
  }

  /**
   * Runs `write` with a new signing secret under the request's idempotency key: the answer shows the
   * secret, a replay shows it while it is still the endpoint's current one.
   */
  function runWithNewSecret(
    keyedRequest: KeyedRequest,
    status: number,
    write: (transaction: TransactionSql, secret: string) => Promise<EndpointRow>,
  ) {
    return runIdempotent(
      sql,
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

  app.post(
    '/webhooks/endpoints',
    {
      preHandler: write,
      schema: {
        summary: 'Register a webhook endpoint (the signing secret is shown only in this answer)',
        tags,
        security,
        body: CreateEndpoint,
        headers: IdempotencyHeaders,
        response: { 201: EndpointWithSecret },
      },
    },
    async (request, reply) => {
      const keyedRequest = keyed(request, 'create_endpoint');
      const { merchantId, now } = keyedRequest;
      const unknown = request.body.eventTypes.filter(
        (type) => !(paymentEventTypes as readonly string[]).includes(type),
      );
      if (unknown.length > 0) {
        throw new DomainError(
          'webhook_event_type_unknown',
          422,
          `Unknown event types: ${unknown.join(', ')}.`,
          {
            knownEventTypes: paymentEventTypes,
          },
        );
      }
      // Validation (and its DNS lookup) happens before the transaction: a refusal stores nothing.
      const url = await assertDeliverableUrl(request.body.url, dependencies.allowPrivate);
      const eventTypes = [...new Set(request.body.eventTypes)];
      const result = await runWithNewSecret(keyedRequest, 201, (transaction, secret) =>
        insertEndpoint(transaction, dependencies.sealer, {
          id: newId('we'),
          merchant_id: merchantId,
          url: url.toString(),
          event_types: eventTypes,
          secret,
          created_at: now,
        }),
      );
      return sendAnswer(reply, result);
    },
  );

  app.get(
    '/webhooks/endpoints',
    {
      preHandler: read,
      schema: {
        summary: "The merchant's webhook endpoints",
        tags,
        security,
        response: { 200: Type.Object({ data: Type.Array(Endpoint) }) },
      },
    },
    async (request) => ({ data: (await listEndpoints(sql, merchantIdOf(request))).map(endpointJson) }),
  );

  app.get(
    '/webhooks/event-types',
    {
      preHandler: read,
      schema: {
        summary: 'The event types an endpoint can subscribe to',
        tags,
        security,
        response: { 200: Type.Object({ data: Type.Array(Type.String()) }) },
      },
    },
    async () => ({ data: [...paymentEventTypes] }),
  );

  app.get(
    '/webhooks/endpoints/:id',
    {
      preHandler: read,
      schema: {
        summary: 'One webhook endpoint',
        tags,
        security,
        params: EndpointParams,
        response: { 200: Endpoint },
      },
    },
    async (request) => endpointJson(await ownEndpoint(merchantIdOf(request), request.params.id)),
  );

  app.delete(
    '/webhooks/endpoints/:id',
    {
      preHandler: write,
      schema: {
        summary: 'Delete a webhook endpoint (its pending deliveries are dropped)',
        documentedResponses: { 204: { description: 'Deleted (or already gone with this Idempotency-Key).' } },
        tags,
        security,
        params: EndpointParams,
        headers: IdempotencyHeaders,
      },
    },
    async (request, reply) => {
      const keyedRequest = keyed(request, 'delete_endpoint');
      const id = request.params.id;
      const result = await runIdempotent(sql, keyedRequest, async (transaction) => {
        if (
          !isId('we', id) ||
          !(await deleteEndpoint(transaction, keyedRequest.merchantId, id, keyedRequest.now))
        )
          throw notFound('endpoint');
        return { answer: { status: 204, body: '' }, resourceId: id };
      });
      return sendAnswer(reply, result);
    },
  );

  app.post(
    '/webhooks/endpoints/:id/rotate-secret',
    {
      preHandler: write,
      schema: {
        summary: 'Rotate the signing secret; the previous one also signs during the grace period',
        tags,
        security,
        params: EndpointParams,
        headers: IdempotencyHeaders,
        response: { 200: EndpointWithSecret },
      },
    },
    async (request, reply) => {
      const keyedRequest = keyed(request, 'rotate_secret');
      const { merchantId, now } = keyedRequest;
      const id = request.params.id;
      const graceUntil = new Date(now.getTime() + dependencies.rotationGraceSeconds * 1000);
      const result = await runWithNewSecret(keyedRequest, 200, async (transaction, secret) => {
        const row = isId('we', id)
          ? await rotateSecret(transaction, dependencies.sealer, merchantId, id, secret, graceUntil, now)
          : undefined;
        if (!row) throw notFound('endpoint');
        return row;
      });
      return sendAnswer(reply, result);
    },
  );

  for (const [verb, change] of [
    ['enable', enableEndpoint],
    ['disable', disableEndpoint],
  ] as const) {
    app.post(
      `/webhooks/endpoints/:id/${verb}`,
      {
        preHandler: write,
        schema: {
          summary:
            verb === 'enable'
              ? 'Enable a disabled endpoint again (failure count reset); failed deliveries are not resent, retry them one by one'
              : 'Disable an endpoint: nothing is sent to it until it is enabled again (its pending deliveries wait)',
          tags,
          security,
          params: EndpointParams,
          headers: IdempotencyHeaders,
          response: { 200: Endpoint },
        },
      },
      async (request, reply) => {
        const keyedRequest = keyed(request, `${verb}_endpoint`);
        const id = request.params.id;
        const result = await runIdempotent(sql, keyedRequest, async (transaction) => {
          const row = isId('we', id)
            ? await change(transaction, keyedRequest.merchantId, id, keyedRequest.now)
            : undefined;
          if (!row) throw notFound('endpoint');
          return { answer: json(200, endpointJson(row)), resourceId: row.id };
        });
        return sendAnswer(reply, result);
      },
    );
  }

  app.get(
    '/webhooks/endpoints/:id/deliveries',
    {
      preHandler: read,
      schema: {
        summary: "The endpoint's latest deliveries (up to 100), each with every attempt",
        tags,
        security,
        params: EndpointParams,
        response: { 200: Type.Object({ data: Type.Array(Delivery) }) },
      },
    },
    async (request) => {
      const endpoint = await ownEndpoint(merchantIdOf(request), request.params.id);
      const deliveries = await listDeliveries(sql, endpoint.id, 100);
      const attempts = await attemptsOf(
        sql,
        deliveries.map((delivery) => delivery.id),
      );
      return { data: deliveries.map((delivery) => deliveryJson(delivery, attempts)) };
    },
  );

  app.get(
    '/webhooks/deliveries',
    {
      preHandler: read,
      schema: {
        summary:
          "The latest deliveries (up to 100) of events about one payment, to any of the merchant's endpoints",
        tags,
        security,
        // Optional in the schema so that a caller without a token hears 401 before any 400.
        querystring: Type.Object({
          paymentId: Type.Optional(Type.String({ pattern: '^pay_[0-9a-hjkmnp-tv-z]{26}$' })),
        }),
        response: { 200: Type.Object({ data: Type.Array(Delivery) }) },
      },
    },
    async (request) => {
      const paymentId = request.query.paymentId;
      if (paymentId === undefined)
        throw new DomainError('validation_failed', 400, 'paymentId is required (?paymentId=pay_…).');
      const deliveries = await listPaymentDeliveries(sql, merchantIdOf(request), paymentId, 100);
      const attempts = await attemptsOf(
        sql,
        deliveries.map((delivery) => delivery.id),
      );
      return { data: deliveries.map((delivery) => deliveryJson(delivery, attempts)) };
    },
  );

  app.post(
    '/webhooks/deliveries/:id/retry',
    {
      preHandler: write,
      schema: {
        summary: 'Send a delivery again now (same webhook-id)',
        tags,
        security,
        params: EndpointParams,
        headers: IdempotencyHeaders,
        response: { 202: Delivery },
      },
    },
    async (request, reply) => {
      const keyedRequest = keyed(request, 'retry_delivery');
      const { merchantId } = keyedRequest;
      const id = request.params.id;
      const result = await runIdempotent(sql, keyedRequest, async (transaction) => {
        const delivery = isId('msg', id) ? await findDelivery(transaction, merchantId, id) : undefined;
        if (!delivery) throw notFound('delivery');
        const endpoint = await findEndpoint(transaction, merchantId, delivery.endpoint_id);
        if (!endpoint) throw notFound('delivery');
        if (!endpoint.enabled) {
          throw new DomainError(
            'webhook_endpoint_disabled',
            409,
            'The endpoint of this delivery is disabled.',
          );
        }
        const updated = await scheduleDeliveryNow(transaction, delivery.id, keyedRequest.now);
        const attempts = await attemptsOf(transaction, [delivery.id]);
        return { answer: json(202, deliveryJson(updated, attempts)), resourceId: delivery.id };
      });
      return sendAnswer(reply, result);
    },
  );
}
