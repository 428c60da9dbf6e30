// GET /balance: the calling merchant's pending, available, in-transit and authorized amounts per
// currency (ADR 19), derived from postings and sent as decimal strings of minor units (ADR 27).
// The merchant comes from the token, never from the request.
import { Type } from 'typebox';
import type { HttpApp } from '../../../platform/http/app.ts';
import { merchantIdOf, requireScopes, type RequestAuthenticator } from '../../../platform/http/auth.ts';
import type { Sql } from '../../../platform/db/client.ts';
import { totalSchema, totalToJson } from '../../../platform/money.ts';
import type { LedgerFace } from '../index.ts';

// Balances are sums of postings, unbounded: decimal strings of minor units (ADR 27).
const BalanceResponse = Type.Object(
  {
    balances: Type.Array(
      Type.Object({
        currency: Type.String({ description: 'ISO 4217 code.' }),
        pending: totalSchema('Captured less refunds, not yet settled by the acquirer.'),
        available: totalSchema(
          'Settled, not yet paid out (negative when refunds and fees exceeded a settlement: carried over).',
        ),
        inTransit: totalSchema('Paid out, not yet confirmed by the bank.'),
        authorized: totalSchema('Reserved by open authorizations.'),
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
          pending: totalToJson(balance.pending),
          available: totalToJson(balance.available),
          inTransit: totalToJson(balance.inTransit),
          authorized: totalToJson(balance.authorized),
        })),
      };
    },
  );
}
