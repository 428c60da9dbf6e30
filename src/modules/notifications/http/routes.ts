// /webhooks routes: merchants register endpoints (the signing secret is shown once), rotate secrets,
// enable a disabled endpoint again, read deliveries with every attempt and retry a delivery. The
// merchant comes from the token; another merchant's ids answer 404.
import { Type } from 'typebox';
import type { HttpApp } from '../../../platform/http/app.ts';
import { merchantIdOf, requireScopes, type RequestAuthenticator } from '../../../platform/http/auth.ts';
import type { Sql } from '../../../platform/db/client.ts';
import { DomainError } from '../../../platform/errors.ts';
import { isId, newId } from '../../../platform/ids.ts';
import type { Clock } from '../../../platform/clock.ts';
import { paymentEventTypes } from '../../events/index.ts';
import { generateWebhookSecret } from '../domain/webhook-signature.ts';
import { assertDeliverableUrl } from '../infra/url-guard.ts';
import {
  attemptsOf,
  deleteEndpoint,
  enableEndpoint,
  findDelivery,
  findEndpoint,
  insertEndpoint,
  listDeliveries,
  listEndpoints,
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

function notFound(kind: string): DomainError {
  return new DomainError(`webhook_${kind}_not_found`, 404, `No such webhook ${kind}.`);
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

  app.post(
    '/webhooks/endpoints',
    {
      preHandler: write,
      schema: {
        summary: 'Register a webhook endpoint (the signing secret is shown only in this answer)',
        tags,
        security,
        body: CreateEndpoint,
        response: { 201: EndpointWithSecret },
      },
    },
    async (request, reply) => {
      const merchantId = merchantIdOf(request);
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
      const url = await assertDeliverableUrl(request.body.url, dependencies.allowPrivate);
      const secret = generateWebhookSecret();
      const row = await insertEndpoint(sql, {
        id: newId('we'),
        merchant_id: merchantId,
        url: url.toString(),
        event_types: [...new Set(request.body.eventTypes)],
        secret,
        created_at: clock.now(),
      });
      return reply.code(201).send({ ...endpointJson(row), secret });
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
        tags,
        security,
        params: EndpointParams,
      },
    },
    async (request, reply) => {
      const id = request.params.id;
      if (!isId('we', id) || !(await deleteEndpoint(sql, merchantIdOf(request), id, clock.now())))
        throw notFound('endpoint');
      return reply.code(204).send();
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
        response: { 200: EndpointWithSecret },
      },
    },
    async (request) => {
      const merchantId = merchantIdOf(request);
      const id = request.params.id;
      const now = clock.now();
      const secret = generateWebhookSecret();
      const row = isId('we', id)
        ? await rotateSecret(
            sql,
            merchantId,
            id,
            secret,
            new Date(now.getTime() + dependencies.rotationGraceSeconds * 1000),
            now,
          )
        : undefined;
      if (!row) throw notFound('endpoint');
      return { ...endpointJson(row), secret };
    },
  );

  app.post(
    '/webhooks/endpoints/:id/enable',
    {
      preHandler: write,
      schema: {
        summary:
          'Enable a disabled endpoint again (failure count reset); failed deliveries are not resent, retry them one by one',
        tags,
        security,
        params: EndpointParams,
        response: { 200: Endpoint },
      },
    },
    async (request) => {
      const id = request.params.id;
      const row = isId('we', id)
        ? await enableEndpoint(sql, merchantIdOf(request), id, clock.now())
        : undefined;
      if (!row) throw notFound('endpoint');
      return endpointJson(row);
    },
  );

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

  app.post(
    '/webhooks/deliveries/:id/retry',
    {
      preHandler: write,
      schema: {
        summary: 'Send a delivery again now (same webhook-id)',
        tags,
        security,
        params: EndpointParams,
        response: { 202: Delivery },
      },
    },
    async (request, reply) => {
      const merchantId = merchantIdOf(request);
      const id = request.params.id;
      const delivery = isId('msg', id) ? await findDelivery(sql, merchantId, id) : undefined;
      if (!delivery) throw notFound('delivery');
      const endpoint = await findEndpoint(sql, merchantId, delivery.endpoint_id);
      if (!endpoint) throw notFound('delivery');
      if (!endpoint.enabled) {
        throw new DomainError('webhook_endpoint_disabled', 409, 'The endpoint of this delivery is disabled.');
      }
      const updated = await scheduleDeliveryNow(sql, delivery.id, clock.now());
      const attempts = await attemptsOf(sql, [delivery.id]);
      return reply.code(202).send(deliveryJson(updated, attempts));
    },
  );
}
