// The dashboard's Developers page: a merchant's own API clients and its publishable key. List
// (scope clients:read: every dashboard role), create (the secret is in that answer only), rotate the
// secret, disable and enable (scope clients:write: owner and developer). These scopes are the
// dashboard's alone (no API client holds them), so a merchant token cannot mint more clients; the
// dashboard's authenticator checks the session and, on every change, its CSRF token. Another
// merchant's client, and the publishable key, answer 404 to a change.
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { HttpApp } from '../../../platform/http/app.ts';
import {
  merchantIdOf,
  principalOf,
  requireScopes,
  type RequestAuthenticator,
} from '../../../platform/http/auth.ts';
import { disableClient, enableClient, clientNotFound } from '../application/change-client-access.ts';
import { createClient } from '../application/create-client.ts';
import { rotateClientSecret } from '../application/rotate-client-secret.ts';
import { clientsReadScope, clientsWriteScope } from '../domain/dashboard-users.ts';
import { listClients } from '../infra/client-access-repository.ts';
import type { IdentityDependencies } from '../infra/dependencies.ts';
import { findPublishableKey } from '../infra/identity-repository.ts';
import { describeClient } from './client-routes.ts';

const tags = ['dashboard'];
const descriptionLengthMax = 200;

const MerchantClient = Type.Object({
  clientId: Type.String(),
  role: Type.String({ description: '`merchant` (a secret client) or `publishable`' }),
  description: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union([Type.Literal('active'), Type.Literal('disabled')]),
  createdAt: Type.String(),
  secretRotatedAt: Type.Union([Type.String(), Type.Null()]),
  disabledAt: Type.Union([Type.String(), Type.Null()]),
});
const WithSecret = Type.Object({
  clientId: Type.String(),
  clientSecret: Type.String({ description: 'Shown in this answer only; PayFlow keeps its hash.' }),
});
const ClientParams = Type.Object({ clientId: Type.String({ maxLength: 100 }) });
const CreateBody = Type.Object(
  { description: Type.Optional(Type.String({ maxLength: descriptionLengthMax })) },
  { additionalProperties: false },
);

const merchantView = (client: ReturnType<typeof describeClient>) => ({
  clientId: client.clientId,
  role: client.role,
  description: client.description,
  status: client.status,
  createdAt: client.createdAt,
  secretRotatedAt: client.secretRotatedAt,
  disabledAt: client.disabledAt,
});

export function registerMerchantClientRoutes(
  app: HttpApp,
  dependencies: IdentityDependencies,
  authenticator: RequestAuthenticator,
): void {
  const { sql } = dependencies;
  const read = requireScopes(authenticator, clientsReadScope);
  const write = requireScopes(authenticator, clientsWriteScope);
  const security = [{ dashboardSession: [] }];
  // The audit trail's actor: the dashboard user who asked.
  const actorOf = (request: FastifyRequest) => `dashboard:${principalOf(request).clientId}`;

  /** The merchant's own secret client, or 404 (another merchant's, the publishable key, no such id). */
  async function ownSecretClient(request: FastifyRequest, clientId: string) {
    const merchantId = merchantIdOf(request);
    const client = (await listClients(sql, { merchantId })).find(
      (candidate) => candidate.clientId === clientId && candidate.role === 'merchant',
    );
    if (!client) throw clientNotFound();
    return client;
  }

  app.get(
    '/dashboard/api/clients',
    {
      schema: {
        tags,
        summary: "The merchant's API clients and its publishable key (dashboard)",
        security,
        response: {
          200: Type.Object({
            data: Type.Array(MerchantClient),
            publishableKey: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
      preHandler: read,
    },
    async (request) => {
      const merchantId = merchantIdOf(request);
      const clients = await listClients(sql, { merchantId });
      return {
        data: clients.map((client) => merchantView(describeClient(client))),
        publishableKey: (await findPublishableKey(sql, merchantId)) ?? null,
      };
    },
  );

  app.post(
    '/dashboard/api/clients',
    {
      schema: {
        tags,
        summary: 'Create an API client for the merchant; its secret is in this answer only (dashboard)',
        security,
        body: CreateBody,
        response: { 201: WithSecret },
      },
      preValidation: async (request) => {
        request.body ??= {};
      },
      preHandler: write,
    },
    async (request, reply) => {
      const description = request.body.description?.trim() || undefined;
      const created = await createClient(dependencies, {
        role: 'merchant',
        merchantId: merchantIdOf(request),
        description,
      });
      return reply.code(201).send({ clientId: created.clientId, clientSecret: created.clientSecret });
    },
  );

  app.post(
    '/dashboard/api/clients/:clientId/rotate-secret',
    {
      schema: {
        tags,
        summary:
          'Give an API client a new secret (in this answer only); the old one and its tokens stop working (dashboard)',
        security,
        params: ClientParams,
        response: { 200: WithSecret },
      },
      preHandler: write,
    },
    async (request) => {
      await ownSecretClient(request, request.params.clientId);
      return rotateClientSecret(dependencies, { clientId: request.params.clientId, actor: actorOf(request) });
    },
  );

  for (const [verb, change] of [
    ['disable', disableClient],
    ['enable', enableClient],
  ] as const) {
    app.post(
      `/dashboard/api/clients/:clientId/${verb}`,
      {
        schema: {
          tags,
          summary:
            verb === 'disable'
              ? 'Disable an API client: no new tokens, the ones it holds are refused (dashboard)'
              : 'Enable a disabled API client; its earlier tokens stay refused (dashboard)',
          security,
          params: ClientParams,
          response: { 200: MerchantClient },
        },
        preHandler: write,
      },
      async (request) => {
        await ownSecretClient(request, request.params.clientId);
        const result = await change(dependencies, {
          clientId: request.params.clientId,
          actor: actorOf(request),
        });
        return merchantView(describeClient(result.client));
      },
    );
  }
}
