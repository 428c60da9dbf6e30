// The Developers page's log of recent API requests (ADR 32): every request a merchant principal
// made (its API clients, publishable key, dashboard users) is recorded when answered, in memory,
// and written in batches by RequestLog; GET /dashboard/api/request-log reads the newest.
import { Type } from 'typebox';
import type { HttpApp } from '../../../platform/http/app.ts';
import { merchantIdOf, requireScopes, type RequestAuthenticator } from '../../../platform/http/auth.ts';
import { clientsReadScope } from '../domain/dashboard-users.ts';
import { recentRequests, requestLogKeptPerMerchant, type RequestLog } from '../infra/request-log.ts';
import type { IdentityDependencies } from '../infra/dependencies.ts';

const requestLogPath = '/dashboard/api/request-log';

const LoggedRequestBody = Type.Object({
  method: Type.String(),
  path: Type.String({ description: 'Without the query string.' }),
  status: Type.Integer(),
  durationMs: Type.Integer(),
  requestId: Type.String({ description: 'The `X-Request-Id` the answer carried.' }),
  clientId: Type.String({ description: 'The API client, publishable key or dashboard user that called.' }),
  at: Type.String(),
});

/** Records every answered request of a merchant principal (not the log's own reads). */
export function recordMerchantRequests(app: HttpApp, log: RequestLog): void {
  app.addHook('onResponse', async (request, reply) => {
    const principal = request.principal;
    if (!principal?.merchantId || request.routeOptions.url === requestLogPath) return;
    log.record({
      merchantId: principal.merchantId,
      clientId: principal.clientId,
      method: request.method,
      path: request.url,
      status: reply.statusCode,
      durationMs: reply.elapsedTime,
      requestId: request.id,
      at: new Date(),
    });
  });
}

export function registerRequestLogRoutes(
  app: HttpApp,
  dependencies: IdentityDependencies,
  authenticator: RequestAuthenticator,
): void {
  app.get(
    requestLogPath,
    {
      schema: {
        tags: ['dashboard'],
        summary: `The merchant's most recent API requests, newest first (the last ${requestLogKeptPerMerchant} are kept)`,
        security: [{ dashboardSession: [] }],
        querystring: Type.Object({ limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })) }),
        response: { 200: Type.Object({ data: Type.Array(LoggedRequestBody) }) },
      },
      preHandler: requireScopes(authenticator, clientsReadScope),
    },
    async (request, reply) => {
      const limit = Math.min(Number(request.query.limit ?? 100), requestLogKeptPerMerchant);
      reply.header('cache-control', 'no-store');
      return {
        data: (await recentRequests(dependencies.sql, merchantIdOf(request), limit)).map((entry) => ({
          ...entry,
          at: entry.at.toISOString(),
        })),
      };
    },
  );
}
