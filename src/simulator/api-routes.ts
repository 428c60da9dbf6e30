// The JSON API under /v1: bodies validated by TypeBox schemas, decisions made by the Acquirer, and
// one mapping from refusals to HTTP statuses.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Acquirer, Outcome, Refusal } from './acquirer.ts';
import type { Bank, BankPayout } from './bank.ts';
import { settlementReportCsv } from './settlement-report.ts';
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

  // Not an acquirer API: the simulator's own view, for harnesses that compare it with PayFlow's.
  app.get('/v1/authorizations', async () => ({ data: acquirer.authorizationsView() }));

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

  app.get(
    '/v1/settlement-reports/:date',
    {
      schema: {
        params: Type.Object({ date: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }) }),
        querystring: ReportQuery,
      },
    },
    async (request, reply) => {
      const from = Date.parse(`${request.params.date}T00:00:00Z`);
      if (Number.isNaN(from)) return reply.code(400).send({ error: 'invalid_request', detail: 'bad date' });
      const list = (value: string | undefined) =>
        value ? value.split(',').filter((item) => item !== '') : [];
      const query = request.query;
      const csv = settlementReportCsv(acquirer.settlementEntries(from, from + 86_400_000), {
        date: request.params.date,
        batchNumber: Math.floor(from / 86_400_000),
        costBps: query.costBps ?? defaultReportCostBps,
        faults: {
          missing: list(query.missing),
          duplicate: list(query.duplicate),
          amount: list(query.amount),
          chargeback: list(query.chargeback),
          cost: list(query.cost),
          unknown: query.unknown === 'true',
        },
      });
      return reply
        .type('text/csv; charset=utf-8')
        .header(
          'content-disposition',
          `attachment; filename="settlement_detail_report_${request.params.date}.csv"`,
        )
        .send(csv);
    },
  );

  app.get('/healthz', async () => ({ status: 'ok' }));
}

/** What the simulated acquirer keeps of each capture by default (PayFlow expects the same). */
export const defaultReportCostBps = 150;

const ReportQuery = Type.Object({
  costBps: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
  missing: Type.Optional(Type.String({ maxLength: 10_000 })),
  duplicate: Type.Optional(Type.String({ maxLength: 10_000 })),
  amount: Type.Optional(Type.String({ maxLength: 10_000 })),
  chargeback: Type.Optional(Type.String({ maxLength: 10_000 })),
  cost: Type.Optional(Type.String({ maxLength: 10_000 })),
  unknown: Type.Optional(Type.String({ enum: ['true', 'false'] })),
});

const PayoutRequest = Type.Object(
  {
    reference: Type.String({ minLength: 1, maxLength: 255 }),
    // A sum, as PayFlow sends every sum (ADR 27): a positive decimal string of minor units.
    amount: Type.String({ pattern: '^[1-9][0-9]{0,30}$' }),
    currency: Type.String({ pattern: '^[A-Z]{3}$' }),
    destination: Type.String({ minLength: 1, maxLength: 255 }),
  },
  { additionalProperties: false },
);

function payoutAnswer(payout: BankPayout) {
  return {
    reference: payout.reference,
    amount: payout.amount.toString(),
    currency: payout.currency,
    status: payout.status,
    ...(payout.failureReason !== undefined && { failureReason: payout.failureReason }),
  };
}

/** The simulated bank of merchant payouts (bank.ts): create by reference, then ask for the state. */
export function registerBankRoutes(root: FastifyInstance, bank: Bank): void {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  app.post('/v1/payouts', { schema: { body: PayoutRequest } }, async (request, reply) =>
    reply.code(201).send(payoutAnswer(bank.create({ ...request.body, amount: BigInt(request.body.amount) }))),
  );
  app.get('/v1/payouts/:reference', { schema: { params: ReferenceParameters } }, async (request, reply) => {
    const payout = bank.inquire(request.params.reference);
    if (payout) return reply.code(200).send(payoutAnswer(payout));
    const body: ErrorAnswer = { error: 'unknown_reference' };
    return reply.code(404).send(body);
  });
}
