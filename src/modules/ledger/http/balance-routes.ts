// GET /balance: the calling merchant's available and pending amounts per currency, derived from
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
        available: Type.Integer({ description: 'Owed to the merchant now, in minor units.' }),
        pending: Type.Integer({ description: 'Reserved by open authorizations, in minor units.' }),
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
        summary: "The merchant's available and pending balance per currency",
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
          available: amountToJson(balance.available),
          pending: amountToJson(balance.pending),
        })),
      };
    },
  );
}
