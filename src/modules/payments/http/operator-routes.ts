// Operator routes for operations whose acquirer outcome stayed unknown past the whole inquiry schedule
// (ADR 34): list them (admin:read) and resolve one (admin:settlement: it changes payments and the
// ledger of any merchant). An admin token or an operator's dashboard session; a merchant gets 403.
import { Type } from 'typebox';
import type { HttpApp } from '../../../platform/http/app.ts';
import { principalOf, requireScopes, type RequestAuthenticator } from '../../../platform/http/auth.ts';
import type { PaymentsDependencies } from '../application/dependencies.ts';
import { listUnresolved, resolveUnresolved, unresolvedListMax } from '../application/resolve-unresolved.ts';
import { documented, paymentIdPattern } from './schemas.ts';

const refundIdPattern = '^ref_[0-9a-z]{26}$';

export function registerOperatorPaymentRoutes(
  app: HttpApp,
  authenticator: RequestAuthenticator,
  dependencies: PaymentsDependencies,
): void {
  const tags = ['payments'];
  app.get(
    '/v1/admin/payments/unresolved',
    {
      preHandler: requireScopes(authenticator, 'admin:read'),
      schema: {
        tags,
        summary: 'Payments whose acquirer outcome stayed unknown past the whole inquiry schedule (operators)',
        querystring: Type.Object(
          { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: unresolvedListMax })) },
          { additionalProperties: false },
        ),
        documentedResponses: documented.unresolved,
      },
    },
    async (request) => ({ data: await listUnresolved(dependencies.sql, request.query.limit) }),
  );
  app.post(
    '/v1/admin/payments/:id/resolve',
    {
      preHandler: requireScopes(authenticator, 'admin:settlement'),
      schema: {
        tags,
        summary:
          'Resolve an unknown outcome (operators): ask the acquirer once more and apply its answer, or fail it when the acquirer has no record',
        params: Type.Object({
          id: Type.String({
            pattern: `${paymentIdPattern}|${refundIdPattern}`,
            description: 'The payment, or the refund of a `refund` operation (`resourceId` in the list).',
          }),
        }),
        documentedResponses: documented.resolve,
      },
    },
    async (request) => resolveUnresolved(dependencies, request.params.id, principalOf(request).clientId),
  );
}
