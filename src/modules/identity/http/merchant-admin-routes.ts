// Operator routes for merchants (ADR 32): list them with their state (admin:read), create one and
// disable one (admin:clients: a merchant is its clients). An admin API client or an operator's
// dashboard session may call them; a merchant's token or session gets 403 insufficient_scope.
import { Type } from 'typebox';
import type { HttpApp } from '../../../platform/http/app.ts';
import { principalOf, requireScopes, type RequestAuthenticator } from '../../../platform/http/auth.ts';
import { createMerchant, merchantNameLengthMax } from '../application/create-merchant.ts';
import { disableMerchant } from '../application/merchant-admin.ts';
import { accessReasonLengthMax } from '../application/change-client-access.ts';
import type { IdentityDependencies } from '../infra/dependencies.ts';
import { listMerchants, type MerchantSummary } from '../infra/merchant-admin-repository.ts';

const MerchantBody = Type.Object({
  merchantId: Type.String(),
  name: Type.String(),
  email: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union([Type.Literal('active'), Type.Literal('disabled')]),
  createdAt: Type.String(),
  disabledAt: Type.Union([Type.String(), Type.Null()]),
  disabledReason: Type.Union([Type.String(), Type.Null()]),
  activeClients: Type.Integer({ description: 'Enabled API clients (secret and publishable).' }),
  dashboardUsers: Type.Integer(),
});

const CreatedMerchantBody = Type.Object({
  merchantId: Type.String(),
  clientId: Type.String(),
  clientSecret: Type.String({ description: 'Shown once; PayFlow keeps only its hash.' }),
  publishableKey: Type.String(),
});

/** Who acts, for the clients' audit trail: a dashboard operator or an admin API client. */
export function actorOf(clientId: string): string {
  return clientId.startsWith('usr_') ? `dashboard:${clientId}` : `client:${clientId}`;
}

function describeMerchant(merchant: MerchantSummary) {
  return {
    merchantId: merchant.merchantId,
    name: merchant.name,
    email: merchant.email ?? null,
    status: merchant.disabledAt ? ('disabled' as const) : ('active' as const),
    createdAt: merchant.createdAt.toISOString(),
    disabledAt: merchant.disabledAt?.toISOString() ?? null,
    disabledReason: merchant.disabledReason ?? null,
    activeClients: merchant.activeClients,
    dashboardUsers: merchant.dashboardUsers,
  };
}

export function registerMerchantAdminRoutes(
  app: HttpApp,
  dependencies: IdentityDependencies,
  authenticator: RequestAuthenticator,
): void {
  const tags = ['identity'];
  const security = [{ bearer: [] }];
  app.get(
    '/v1/admin/merchants',
    {
      schema: {
        tags,
        summary: 'Merchants and their state, newest first (admin)',
        security,
        querystring: Type.Object({ limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })) }),
        response: { 200: Type.Object({ data: Type.Array(MerchantBody) }) },
      },
      preHandler: requireScopes(authenticator, 'admin:read'),
    },
    async (request) => ({
      data: (await listMerchants(dependencies.sql, Math.min(Number(request.query.limit ?? 200), 500))).map(
        describeMerchant,
      ),
    }),
  );
  app.post(
    '/v1/admin/merchants',
    {
      schema: {
        tags,
        summary: 'Create a merchant with its API client (secret shown once) and publishable key (admin)',
        security,
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: merchantNameLengthMax }),
            email: Type.Optional(Type.String({ maxLength: 320 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: CreatedMerchantBody },
      },
      preHandler: requireScopes(authenticator, 'admin:clients'),
    },
    async (request, reply) => {
      const created = await createMerchant(dependencies, request.body.name, { email: request.body.email });
      return reply.code(201).header('cache-control', 'no-store').send(created);
    },
  );
  app.post(
    '/v1/admin/merchants/:merchantId/disable',
    {
      schema: {
        tags,
        summary:
          "Disable a merchant: its API clients are disabled (tokens refused within 2 s) and its dashboard users' sessions end (admin)",
        security,
        params: Type.Object({ merchantId: Type.String({ maxLength: 100 }) }),
        body: Type.Object(
          { reason: Type.Optional(Type.String({ maxLength: accessReasonLengthMax })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            ...MerchantBody.properties,
            changed: Type.Boolean(),
            clientsDisabled: Type.Integer(),
          }),
        },
      },
      preValidation: async (request) => {
        request.body ??= {};
      },
      preHandler: requireScopes(authenticator, 'admin:clients'),
    },
    async (request) => {
      const result = await disableMerchant(dependencies, {
        merchantId: request.params.merchantId,
        actor: actorOf(principalOf(request).clientId),
        reason: request.body.reason,
      });
      return {
        ...describeMerchant(result.merchant),
        changed: result.changed,
        clientsDisabled: result.clientsDisabled,
      };
    },
  );
}
