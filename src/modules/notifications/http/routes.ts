// /webhooks routes: the HTTP face of application/webhook-endpoints.ts (schemas, scopes, the merchant
// from the token, the Idempotency-Key header). Merchants register endpoints (the signing secret is
// shown once), rotate secrets, enable or disable an endpoint, read deliveries with every attempt and
// retry a delivery. Every POST and DELETE honours an optional Idempotency-Key.
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { HttpApp } from '../../../platform/http/app.ts';
import { merchantIdOf, requireScopes, type RequestAuthenticator } from '../../../platform/http/auth.ts';
import { DomainError } from '../../../platform/errors.ts';
import type { Clock } from '../../../platform/clock.ts';
import { fingerprintOfRequest, optionalIdempotencyKey, sendAnswer } from '../../../platform/idempotency.ts';
import { paymentEventTypes } from '../../events/index.ts';
import {
  createEndpoint,
  deleteEndpoint,
  endpointView,
  getEndpoint,
  listEndpointDeliveries,
  listEndpoints,
  listPaymentDeliveries,
  retryDelivery,
  rotateSecret,
  setEndpointEnabled,
  type WebhookEndpointsDependencies,
  type WebhookKeyedRequest,
} from '../application/webhook-endpoints.ts';

export interface WebhookRouteDependencies extends WebhookEndpointsDependencies {
  readonly clock: Clock;
  readonly authenticator: RequestAuthenticator;
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

export function registerWebhookRoutes(app: HttpApp, dependencies: WebhookRouteDependencies): void {
  const { clock } = dependencies;
  const read = requireScopes(dependencies.authenticator, 'webhooks:read');
  const write = requireScopes(dependencies.authenticator, 'webhooks:write');
  const security = [{ bearer: [] }];
  const tags = ['webhooks'];

  function keyed(request: FastifyRequest): WebhookKeyedRequest {
    return {
      merchantId: merchantIdOf(request),
      key: optionalIdempotencyKey(request.headers['idempotency-key']),
      fingerprint: fingerprintOfRequest(request),
      now: clock.now(),
    };
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
    async (request, reply) =>
      sendAnswer(reply, await createEndpoint(dependencies, keyed(request), request.body)),
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
    async (request) => ({
      data: (await listEndpoints(dependencies, merchantIdOf(request))).map(endpointView),
    }),
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
    async (request) =>
      endpointView(await getEndpoint(dependencies, merchantIdOf(request), request.params.id)),
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
    async (request, reply) =>
      sendAnswer(reply, await deleteEndpoint(dependencies, keyed(request), request.params.id)),
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
    async (request, reply) =>
      sendAnswer(reply, await rotateSecret(dependencies, keyed(request), request.params.id)),
  );

  for (const verb of ['enable', 'disable'] as const) {
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
      async (request, reply) =>
        sendAnswer(
          reply,
          await setEndpointEnabled(dependencies, keyed(request), request.params.id, verb === 'enable'),
        ),
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
    async (request) => ({
      data: await listEndpointDeliveries(dependencies, merchantIdOf(request), request.params.id),
    }),
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
      return { data: await listPaymentDeliveries(dependencies, merchantIdOf(request), paymentId) };
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
    async (request, reply) =>
      sendAnswer(reply, await retryDelivery(dependencies, keyed(request), request.params.id)),
  );
}
