// The JSON API under /v1: bodies validated by TypeBox schemas, decisions made by the Acquirer, and
// one mapping from refusals to HTTP statuses.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Acquirer, Outcome, Refusal } from './acquirer.ts';
import {
  AuthorizationParameters,
  AuthorizationRequest,
  CaptureRequest,
  ReferenceParameters,
  RefundRequest,
  VoidRequest,
  type ErrorAnswer,
} from './contract.ts';

const refusalStatusCodes = {
  invalid_request: 400,
  unknown_authorization: 404,
  reference_mismatch: 409,
  reference_in_use: 409,
  simulator_full: 503,
} as const satisfies Record<Refusal, number>;

function send(reply: FastifyReply, outcome: Outcome) {
  if (outcome.type === 'answer') return reply.code(200).send(outcome.answer);
  const body: ErrorAnswer = {
    error: outcome.error,
    ...(outcome.detail !== undefined && { detail: outcome.detail }),
  };
  return reply.code(refusalStatusCodes[outcome.error]).send(body);
}

export function registerApiRoutes(root: FastifyInstance, acquirer: Acquirer): void {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();

  app.post('/v1/authorizations', { schema: { body: AuthorizationRequest } }, async (request, reply) =>
    send(reply, await acquirer.authorize(request.body)),
  );

  app.post(
    '/v1/authorizations/:authorizationId/captures',
    { schema: { params: AuthorizationParameters, body: CaptureRequest } },
    async (request, reply) => send(reply, acquirer.capture(request.params.authorizationId, request.body)),
  );

  app.post(
    '/v1/authorizations/:authorizationId/refunds',
    { schema: { params: AuthorizationParameters, body: RefundRequest } },
    async (request, reply) => send(reply, acquirer.refund(request.params.authorizationId, request.body)),
  );

  app.post(
    '/v1/authorizations/:authorizationId/voids',
    { schema: { params: AuthorizationParameters, body: VoidRequest } },
    async (request, reply) => send(reply, acquirer.void(request.params.authorizationId, request.body)),
  );

  app.get(
    '/v1/operations/:reference',
    { schema: { params: ReferenceParameters } },
    async (request, reply) => {
      const inquiry = acquirer.inquire(request.params.reference);
      if (inquiry) return reply.code(200).send(inquiry);
      const body: ErrorAnswer = { error: 'unknown_reference' };
      return reply.code(404).send(body);
    },
  );

  app.get('/healthz', async () => ({ status: 'ok' }));
}
