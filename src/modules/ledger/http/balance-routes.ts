// GET /balance: the calling merchant's pending, available, in-transit and authorized amounts per
// currency (ADR 19), derived from
// postings. The merchant comes from the token, never from the request.
import { Type } from 'typebox';
import type { HttpApp } from '../../../platform/http/app.ts';
import { merchantIdOf, requireScopes, type RequestAuthenticator } from '../../../platform/http/auth.ts';
import type { Sql } from '../../../platform/db/client.ts';
import { amountToJson } from '../../../platform/money.ts';
import type { LedgerFace } from '../index.ts';

const BalanceResponse = Type.Object(
  {
    balances: Type.Array(
      Type.Object({
        currency: Type.String({ description: 'ISO 4217 code.' }),
        pending: Type.Integer({
          description: 'Captured less refunds, not yet settled by the acquirer, in minor units.',
        }),
        available: Type.Integer({
          description:
            'Settled, not yet paid out, in minor units (negative when refunds and fees exceeded a settlement: carried over).',
        }),
        inTransit: Type.Integer({ description: 'Paid out, not yet confirmed by the bank, in minor units.' }),
        authorized: Type.Integer({ description: 'Reserved by open authorizations, in minor units.' }),
      }),
    ),
  },
  { description: "The merchant's balances per currency, sorted by currency code." },
);

export function registerBalanceRoutes(
  app: HttpApp,
  dependencies: {
    readonly sql: Sql;
    readonly ledger: LedgerFace;
    readonly authenticator: RequestAuthenticator;
  },
): void {
  app.get(
    '/balance',
    {
      preHandler: requireScopes(dependencies.authenticator, 'balance:read'),
      schema: {
        summary: "The merchant's pending, available, in-transit and authorized amounts per currency",
        tags: ['ledger'],
        response: { 200: BalanceResponse },
      },
    },
    async (request) => {
      const merchantId = merchantIdOf(request);
      const balances = await dependencies.ledger.merchantBalances(dependencies.sql, merchantId);
      return {
        balances: balances.map((balance) => ({
          currency: balance.currency,
          pending: amountToJson(balance.pending),
          available: amountToJson(balance.available),
          inTransit: amountToJson(balance.inTransit),
          authorized: amountToJson(balance.authorized),
        })),
      };
    },
  );
}
