// Routes only a `--role vault` process serves, for payment processors in other processes:
// POST /internal/vault/detokenize, /describe, /describe-many and /tokens-ending-in. Service tokens only (scope
// `service`; merchants get 403). The clear card data goes to this caller alone: Fastify never logs
// bodies, the answer is `no-store`, and the audit row names the service client and its actor.
import { Type } from 'typebox';
import type { HttpApp } from '../../../platform/http/app.ts';
import { principalOf, requireScopes, type RequestAuthenticator } from '../../../platform/http/auth.ts';
import { DomainError } from '../../../platform/errors.ts';
import type {
  DetokenizedPaymentData,
  DetokenizeRequest,
  TokenDescription,
  TokensEndingIn,
} from '../index.ts';
import { describeTokensMax } from '../application/describe-token.ts';
import { detokenizePurposes } from '../application/detokenize.ts';

export interface InternalRoutesDependencies {
  readonly authenticator: RequestAuthenticator;
  describe(merchantId: string, token: string): Promise<TokenDescription | undefined>;
  describeMany(merchantId: string, tokens: readonly string[]): Promise<TokenDescription[]>;
  tokensEndingIn(merchantId: string, last4: string): Promise<TokensEndingIn>;
  detokenizeForProcessor(request: DetokenizeRequest): Promise<DetokenizedPaymentData>;
}

/** The wire form of DetokenizedPaymentData: Secrets revealed, for the service caller only. */
export interface DetokenizedWire {
  readonly kind: 'card' | 'wallet';
  readonly number?: string;
  readonly cvc?: string;
  readonly holderName?: string;
  readonly type?: string;
  readonly networkToken?: string;
  readonly cryptogram?: string;
  readonly expMonth: number;
  readonly expYear: number;
  readonly brand: string;
  readonly last4: string;
}

// Shapes keep NULs and other oddities away from SQL: a mismatch is 400, never a 5xx.
const tokenField = Type.String({ pattern: '^tok_[0-9a-z]{26}$' });
const merchantField = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });

const detokenizeBody = Type.Object(
  {
    merchantId: merchantField,
    token: tokenField,
    purpose: Type.Union(detokenizePurposes.map((purpose) => Type.Literal(purpose))),
    actor: Type.String({ minLength: 1, maxLength: 100 }),
  },
  { additionalProperties: false },
);

const describeBody = Type.Object(
  { merchantId: merchantField, token: tokenField },
  { additionalProperties: false },
);

const describeManyBody = Type.Object(
  { merchantId: merchantField, tokens: Type.Array(tokenField, { maxItems: describeTokensMax }) },
  { additionalProperties: false },
);

const tokensEndingInBody = Type.Object(
  { merchantId: merchantField, last4: Type.String({ pattern: '^[0-9]{4}$' }) },
  { additionalProperties: false },
);

const detokenizedResponse = Type.Object({
  kind: Type.Union([Type.Literal('card'), Type.Literal('wallet')]),
  number: Type.Optional(Type.String()),
  cvc: Type.Optional(Type.String()),
  holderName: Type.Optional(Type.String()),
  type: Type.Optional(Type.String()),
  networkToken: Type.Optional(Type.String()),
  cryptogram: Type.Optional(Type.String()),
  expMonth: Type.Integer(),
  expYear: Type.Integer(),
  brand: Type.String(),
  last4: Type.String(),
});

function toWire(data: DetokenizedPaymentData): DetokenizedWire {
  if (data.kind === 'card') {
    return {
      kind: 'card',
      number: data.number.reveal(),
      ...(data.cvc !== undefined && { cvc: data.cvc.reveal() }),
      ...(data.holderName !== undefined && { holderName: data.holderName }),
      expMonth: data.expMonth,
      expYear: data.expYear,
      brand: data.brand,
      last4: data.last4,
    };
  }
  return {
    kind: 'wallet',
    type: data.type,
    networkToken: data.networkToken.reveal(),
    cryptogram: data.cryptogram.reveal(),
    expMonth: data.expMonth,
    expYear: data.expYear,
    brand: data.brand,
    last4: data.last4,
  };
}

export function registerInternalRoutes(app: HttpApp, dependencies: InternalRoutesDependencies): void {
  app.post(
    '/internal/vault/detokenize',
    {
      preHandler: requireScopes(dependencies.authenticator, 'service'),
      schema: {
        tags: ['internal'],
        summary: 'Clear card or wallet data for a payment processor (service tokens only; audited)',
        body: detokenizeBody,
        response: { 200: detokenizedResponse },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const data = await dependencies.detokenizeForProcessor({
        merchantId: body.merchantId,
        token: body.token,
        purpose: body.purpose,
        actor: `${principalOf(request).clientId}/${body.actor}`,
      });
      return reply.header('cache-control', 'no-store').send(toWire(data));
    },
  );
  app.post(
    '/internal/vault/describe',
    {
      preHandler: requireScopes(dependencies.authenticator, 'service'),
      schema: {
        tags: ['internal'],
        summary: "A token's public description for a processor in another process (service tokens only)",
        body: describeBody,
      },
    },
    async (request) => {
      const description = await dependencies.describe(request.body.merchantId, request.body.token);
      if (!description) throw new DomainError('token_not_found', 404, 'No such token.');
      return description;
    },
  );
  app.post(
    '/internal/vault/describe-many',
    {
      preHandler: requireScopes(dependencies.authenticator, 'service'),
      schema: {
        tags: ['internal'],
        summary: "Several tokens' public descriptions at once, for lists and exports (service tokens only)",
        body: describeManyBody,
      },
    },
    async (request) => ({
      data: await dependencies.describeMany(request.body.merchantId, request.body.tokens),
    }),
  );
  app.post(
    '/internal/vault/tokens-ending-in',
    {
      preHandler: requireScopes(dependencies.authenticator, 'service'),
      schema: {
        tags: ['internal'],
        summary:
          "A merchant's tokens whose card ends in the given 4 digits, for payment search (service tokens only)",
        body: tokensEndingInBody,
      },
    },
    async (request) => dependencies.tokensEndingIn(request.body.merchantId, request.body.last4),
  );
}
