// Operator routes for API clients (scope admin:clients): list them with their state, disable and
// enable one. The same use cases as `payflow clients …`; the audit trail names the admin client (or
// the operator's dashboard user, ADR 32).
import { Type } from 'typebox';
import type { HttpApp } from '../../../platform/http/app.ts';
import { principalOf, requireScopes, type RequestAuthenticator } from '../../../platform/http/auth.ts';
import {
  accessReasonLengthMax,
  disableClient,
  enableClient,
  type ClientAccessResult,
} from '../application/change-client-access.ts';
import { listClients, type ClientAccessState } from '../infra/client-access-repository.ts';
import type { IdentityDependencies } from '../infra/dependencies.ts';
import { actorOf } from './merchant-admin-routes.ts';

const ClientBody = Type.Object({
  clientId: Type.String(),
  role: Type.String(),
  merchantId: Type.Union([Type.String(), Type.Null()]),
  description: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union([Type.Literal('active'), Type.Literal('disabled')]),
  createdAt: Type.String(),
  secretRotatedAt: Type.Union([Type.String(), Type.Null()]),
  disabledAt: Type.Union([Type.String(), Type.Null()]),
  disabledReason: Type.Union([Type.String(), Type.Null()]),
});

const ClientChangeBody = Type.Object({ ...ClientBody.properties, changed: Type.Boolean() });
const ClientParams = Type.Object({ clientId: Type.String({ maxLength: 100 }) });
const ChangeRequestBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: accessReasonLengthMax })) },
  { additionalProperties: false },
);

/** A client as the CLI and the admin API show it (never its secret hash). */
export function describeClient(client: ClientAccessState) {
  return {
    clientId: client.clientId,
    role: client.role,
    merchantId: client.merchantId ?? null,
    description: client.description ?? null,
    status: client.disabledAt ? ('disabled' as const) : ('active' as const),
    createdAt: client.createdAt.toISOString(),
    secretRotatedAt: client.secretRotatedAt?.toISOString() ?? null,
    disabledAt: client.disabledAt?.toISOString() ?? null,
    disabledReason: client.disabledReason ?? null,
  };
}

const describeChange = (result: ClientAccessResult) => ({
  ...describeClient(result.client),
  changed: result.changed,
});

export function registerClientRoutes(
  app: HttpApp,
  dependencies: IdentityDependencies,
  authenticator: RequestAuthenticator,
): void {
  const security = [{ bearer: [] }];
  app.get(
    '/v1/admin/clients',
    {
      schema: {
        tags: ['identity'],
        summary: 'API clients and their state (admin)',
        security,
        querystring: Type.Object({ merchantId: Type.Optional(Type.String({ maxLength: 100 })) }),
        response: { 200: Type.Object({ data: Type.Array(ClientBody) }) },
      },
      preHandler: requireScopes(authenticator, 'admin:clients'),
    },
    async (request) => ({
      data: (await listClients(dependencies.sql, { merchantId: request.query.merchantId })).map(
        describeClient,
      ),
    }),
  );
  for (const [verb, change] of [
    ['disable', disableClient],
    ['enable', enableClient],
  ] as const) {
    app.post(
      `/v1/admin/clients/:clientId/${verb}`,
      {
        schema: {
          tags: ['identity'],
          summary:
            verb === 'disable'
              ? 'Disable a client: no new tokens, the ones it holds are refused within 2 s (admin)'
              : 'Enable a disabled client; its earlier tokens stay refused (admin)',
          security,
          params: ClientParams,
          body: ChangeRequestBody,
          response: { 200: ClientChangeBody },
        },
        // The reason is optional, and so is the body that carries it.
        preValidation: async (request) => {
          request.body ??= {};
        },
        preHandler: requireScopes(authenticator, 'admin:clients'),
      },
      async (request) => {
        const actor = actorOf(principalOf(request).clientId);
        const input = { clientId: request.params.clientId, actor, reason: request.body.reason };
        return describeChange(await change(dependencies, input));
      },
    );
  }
}
