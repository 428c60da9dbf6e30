// Checkout over HTTP. Merchants (payments:write / payments:read) create and read sessions; the payer's
// page (no token: the session id is the capability, 26 random-bearing characters) reads the session
// and pays it with a card token its browser got from POST /v1/tokens with the publishable key.
import { Type } from 'typebox';
import { documented } from './documented.ts';
import type { FastifyRequest } from 'fastify';
import type { HttpApp } from '../../../platform/http/app.ts';
import { merchantIdOf, requireScopes, type RequestAuthenticator } from '../../../platform/http/auth.ts';
import { amountMaxMinor } from '../../../platform/money.ts';
import { createSession } from '../application/create-session.ts';
import { paySession } from '../application/pay-session.ts';
import type { CheckoutDependencies, PaymentAuthorizer } from '../application/ports.ts';
import { describeSession, readSession, readSessionForPayer } from '../application/read-session.ts';
import { sessionLifetimeMaxSeconds, sessionLifetimeMinSeconds } from '../domain/session.ts';

const tags = ['checkout'];
/** What the payments API accepts as `payer.ipAddress` (IPv4 or IPv6 text). */
const payerIpPattern = /^[0-9A-Fa-f:.]{2,45}$/;
const sessionIdPattern = '^cs_[0-9a-hjkmnp-tv-z]{26}$';
const SessionParams = Type.Object({
  id: Type.String({ pattern: sessionIdPattern, description: 'A checkout session id (`cs_…`).' }),
});
const RedirectUrl = Type.String({
  minLength: 8,
  maxLength: 2048,
  pattern: '^https?://[^\\s\\u0000-\\u001f\\u007f]+$',
});

const CreateBody = Type.Object(
  {
    amount: Type.Integer({
      minimum: 1,
      maximum: Number(amountMaxMinor),
      description: `Minor units (cents), an integer from 1 to ${amountMaxMinor}.`,
    }),
    currency: Type.String({ minLength: 3, maxLength: 3, description: 'ISO 4217 code, uppercase.' }),
    description: Type.String({ minLength: 1, maxLength: 500, description: 'Shown to the payer.' }),
    successUrl: RedirectUrl,
    cancelUrl: RedirectUrl,
    capture: Type.Optional(
      Type.Boolean({ description: 'Capture on approval (default true); false leaves it AUTHORIZED.' }),
    ),
    expiresInSeconds: Type.Optional(
      Type.Integer({
        minimum: sessionLifetimeMinSeconds,
        maximum: sessionLifetimeMaxSeconds,
        description: 'Lifetime of the session; default 3600.',
      }),
    ),
  },
  { additionalProperties: false },
);

const PayBody = Type.Object(
  {
    token: Type.String({ pattern: '^tok_[0-9a-z]{26}$', description: 'A card token from POST /v1/tokens.' }),
  },
  { additionalProperties: false },
);

function baseUrlOf(request: FastifyRequest, publicBaseUrl: string | undefined): string {
  return (publicBaseUrl ?? `${request.protocol}://${request.host}`).replace(/\/+$/, '');
}

export function registerCheckoutRoutes(
  app: HttpApp,
  options: {
    readonly dependencies: CheckoutDependencies;
    readonly authenticator: RequestAuthenticator;
    readonly authorizer: PaymentAuthorizer;
    readonly publicBaseUrl: string | undefined;
    /** Called before a session is created: the merchant's checkout client must exist to pay it. */
    readonly prepareMerchant: (merchantId: string) => Promise<void>;
  },
): void {
  const { dependencies, authenticator, authorizer } = options;
  const urlOf = (request: FastifyRequest, id: string) =>
    `${baseUrlOf(request, options.publicBaseUrl)}/checkout/${id}`;

  app.post(
    '/checkout/sessions',
    {
      preHandler: requireScopes(authenticator, 'payments:write'),
      schema: {
        documentedResponses: documented.create,
        tags,
        summary: 'Create a hosted checkout session',
        body: CreateBody,
      },
    },
    async (request, reply) => {
      const merchantId = merchantIdOf(request);
      await options.prepareMerchant(merchantId);
      const body = request.body;
      const session = await createSession(dependencies, {
        merchantId,
        amount: BigInt(body.amount),
        currency: body.currency,
        description: body.description,
        successUrl: body.successUrl,
        cancelUrl: body.cancelUrl,
        capture: body.capture,
        expiresInSeconds: body.expiresInSeconds,
      });
      const url = urlOf(request, session.id);
      reply.code(201).header('location', `/v1/checkout/sessions/${session.id}`);
      return describeSession(session, dependencies.clock.now(), url);
    },
  );

  app.get(
    '/checkout/sessions/:id',
    {
      preHandler: requireScopes(authenticator, 'payments:read'),
      schema: {
        documentedResponses: documented.get,
        tags,
        summary: 'Read a checkout session',
        params: SessionParams,
      },
    },
    async (request) => {
      const session = await readSession(dependencies, merchantIdOf(request), request.params.id);
      return describeSession(session, dependencies.clock.now(), urlOf(request, session.id));
    },
  );

  app.get(
    '/checkout/sessions/:id/payer',
    {
      schema: {
        documentedResponses: documented.payer,
        tags,
        summary: "A session as the payer's page shows it (public: the id is the capability)",
        params: SessionParams,
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      return readSessionForPayer(dependencies, request.params.id);
    },
  );

  app.post(
    '/checkout/sessions/:id/pay',
    {
      schema: {
        documentedResponses: documented.pay,
        tags,
        summary: 'Pay a checkout session with a card token (public: the payer page calls it)',
        params: SessionParams,
        body: PayBody,
      },
    },
    async (request, reply) => {
      const payerIp = payerIpPattern.test(request.ip) ? request.ip : undefined;
      const answer = await paySession(
        dependencies,
        authorizer,
        request.params.id,
        request.body.token,
        payerIp,
      );
      reply.header('cache-control', 'no-store').code(answer.status === 'completed' ? 200 : 202);
      return answer;
    },
  );
}
