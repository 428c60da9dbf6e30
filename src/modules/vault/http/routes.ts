// POST /tokens and GET /tokens/{token}. The body schema is deliberately permissive (card and wallet
// are `unknown`): the domain validates every field and answers with a precise code, and no input,
// however odd, reaches a 5xx. Responses carry only the public description; errors never echo input.
import { Type } from 'typebox';
import type { HttpApp } from '../../../platform/http/app.ts';
import {
  merchantIdOf,
  principalOf,
  requireScopes,
  type RequestAuthenticator,
} from '../../../platform/http/auth.ts';
import { DomainError } from '../../../platform/errors.ts';
import { optionalIdempotencyKey, sendAnswer, type IdempotentAnswer } from '../../../platform/idempotency.ts';
import type { TokenDescription, TokenizeInput } from '../index.ts';

/** Token ids as src/platform/ids.ts makes them (`tok_` and 26 base32 characters). */
const tokenIdShape = /^tok_[0-9a-z]{26}$/;

export interface TokenRoutesDependencies {
  readonly authenticator: RequestAuthenticator;
  tokenizeIdempotently(
    merchantId: string,
    input: TokenizeInput,
    options: { actor: string; idempotencyKey: string | undefined },
  ): Promise<{ readonly answer: IdempotentAnswer; readonly replayed: boolean }>;
  describe(merchantId: string, token: string): Promise<TokenDescription | undefined>;
}

const cardDescription = Type.Object({
  brand: Type.String(),
  bin: Type.String(),
  last4: Type.String(),
  expMonth: Type.Integer(),
  expYear: Type.Integer(),
  fingerprint: Type.String(),
});

const walletDescription = Type.Object({
  type: Type.String(),
  brand: Type.String(),
  last4: Type.String(),
  expMonth: Type.Integer(),
  expYear: Type.Integer(),
});

const tokenResponse = Type.Object({
  token: Type.String({ examples: ['tok_01jd3m5x8k2v7q9w4e6r1t0y3u'] }),
  card: Type.Optional(cardDescription),
  wallet: Type.Optional(walletDescription),
});

const tokenizeBody = Type.Object(
  {
    card: Type.Optional(
      Type.Unknown({
        description: '{ number, expMonth, expYear, cvc, holderName? }',
        examples: [{ number: '4242424242424242', expMonth: 12, expYear: 2030, cvc: '123' }],
      }),
    ),
    wallet: Type.Optional(
      Type.Unknown({
        description: '{ type: apple_pay|google_pay, networkToken, cryptogram, expMonth, expYear }',
      }),
    ),
  },
  { description: 'Exactly one of card or wallet.' },
);

export function registerTokenRoutes(app: HttpApp, dependencies: TokenRoutesDependencies): void {
  app.post(
    '/tokens',
    {
      preHandler: requireScopes(dependencies.authenticator, 'tokens:create'),
      schema: {
        tags: ['tokens'],
        summary: 'Tokenize a card or wallet payment (publishable key or merchant token)',
        body: tokenizeBody,
        headers: Type.Object({
          'idempotency-key': Type.Optional(
            Type.String({
              description:
                'Optional: 1 to 255 visible ASCII characters. A retry with the same key and card gets the same token.',
            }),
          ),
        }),
        response: { 201: tokenResponse },
      },
    },
    async (request, reply) => {
      const idempotencyKey = optionalIdempotencyKey(request.headers['idempotency-key']);
      const result = await dependencies.tokenizeIdempotently(
        merchantIdOf(request),
        request.body as TokenizeInput,
        {
          actor: principalOf(request).clientId,
          idempotencyKey,
        },
      );
      return sendAnswer(reply, result);
    },
  );
  app.get(
    '/tokens/:token',
    {
      preHandler: requireScopes(dependencies.authenticator, 'tokens:read'),
      schema: {
        tags: ['tokens'],
        summary: "A token's public description (brand, BIN, last 4, expiry, fingerprint)",
        params: Type.Object({ token: Type.String({ maxLength: 64 }) }),
        response: { 200: tokenResponse },
      },
    },
    async (request) => {
      // Not a token id (a NUL, a card number): no such token, and it never reaches SQL.
      const token = request.params.token;
      const description = tokenIdShape.test(token)
        ? await dependencies.describe(merchantIdOf(request), token)
        : undefined;
      if (!description) throw new DomainError('token_not_found', 404, 'No such token.');
      return description;
    },
  );
}
