// Settlement and payouts over HTTP. Merchants (scope balance:read) see their own batches and
// payouts; operators (admin:settlement) run a day's settlement and (admin:read) list the runs.
import { Type } from 'typebox';
import type { HttpApp } from '../../../platform/http/app.ts';
import { merchantIdOf, requireScopes, type RequestAuthenticator } from '../../../platform/http/auth.ts';
import { DomainError } from '../../../platform/errors.ts';
import { amountToJson } from '../../../platform/money.ts';
import { runSettlement, type SettlementDependencies } from '../application/settlement-job.ts';
import {
  batchLines,
  findBatch,
  findPayout,
  listBatches,
  listJobRuns,
  listPayouts,
  type BatchRow,
  type PayoutRow,
} from '../infra/settlement-repository.ts';

const tags = ['settlement'];
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
});

function describeBatch(batch: BatchRow) {
  return {
    id: batch.id,
    settlementDate: batch.settlement_date,
    acquirer: batch.acquirer,
    currency: batch.currency,
    itemCount: batch.item_count,
    gross: amountToJson(batch.gross),
    refunds: amountToJson(batch.refunds),
    fees: amountToJson(batch.fees),
    net: amountToJson(batch.net),
    runId: batch.run_id,
    createdAt: batch.created_at.toISOString(),
  };
}

function describePayout(payout: PayoutRow) {
  return {
    id: payout.id,
    currency: payout.currency,
    amount: amountToJson(payout.amount),
    status: payout.status,
    ...(payout.failure_reason !== null && { failureReason: payout.failure_reason }),
    createdAt: payout.created_at.toISOString(),
    ...(payout.sent_at !== null && { sentAt: payout.sent_at.toISOString() }),
    ...(payout.finished_at !== null && { finishedAt: payout.finished_at.toISOString() }),
  };
}

const notFound = (what: string) => new DomainError(`${what}_not_found`, 404, `No such ${what}.`);

export function registerSettlementRoutes(
  app: HttpApp,
  dependencies: SettlementDependencies & { readonly authenticator: RequestAuthenticator },
): void {
  const { sql, authenticator } = dependencies;
  const read = requireScopes(authenticator, 'balance:read');

  app.get(
    '/settlements',
    {
      preHandler: read,
      schema: { tags, summary: "List the merchant's settlement batches", querystring: ListQuery },
    },
    async (request) => ({
      data: (
        await listBatches(sql, { merchantId: merchantIdOf(request), limit: request.query.limit ?? 20 })
      ).map(describeBatch),
    }),
  );

  app.get(
    '/settlements/:id',
    {
      preHandler: read,
      schema: { tags, summary: 'Read a settlement batch with its lines', params: IdParams },
    },
    async (request) => {
      const batch = await findBatch(sql, request.params.id, merchantIdOf(request));
      if (!batch) throw notFound('settlement');
      const lines = await batchLines(sql, batch.id);
      return {
        ...describeBatch(batch),
        lines: lines.map((line) => ({
          paymentId: line.payment_id,
          type: line.kind,
          amount: amountToJson(line.amount),
          fee: amountToJson(line.fee),
          occurredAt: line.occurred_at.toISOString(),
        })),
      };
    },
  );

  app.get(
    '/settlements/:id/lines.csv',
    { preHandler: read, schema: { tags, summary: "A settlement batch's lines as CSV", params: IdParams } },
    async (request, reply) => {
      const batch = await findBatch(sql, request.params.id, merchantIdOf(request));
      if (!batch) throw notFound('settlement');
      const rows = ['payment_id,type,amount,fee,currency,occurred_at'];
      for (const line of await batchLines(sql, batch.id))
        rows.push(
          [
            line.payment_id,
            line.kind,
            line.amount,
            line.fee,
            batch.currency,
            line.occurred_at.toISOString(),
          ].join(','),
        );
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${batch.id}.csv"`)
        .send(`${rows.join('\n')}\n`);
    },
  );

  app.get(
    '/payouts',
    { preHandler: read, schema: { tags, summary: "List the merchant's payouts", querystring: ListQuery } },
    async (request) => ({
      data: (
        await listPayouts(sql, { merchantId: merchantIdOf(request), limit: request.query.limit ?? 20 })
      ).map(describePayout),
    }),
  );

  app.get(
    '/payouts/:id',
    { preHandler: read, schema: { tags, summary: 'Read a payout', params: IdParams } },
    async (request) => {
      const payout = await findPayout(sql, request.params.id, merchantIdOf(request));
      if (!payout) throw notFound('payout');
      return describePayout(payout);
    },
  );

  app.post(
    '/v1/admin/settlement/runs',
    {
      preHandler: requireScopes(authenticator, 'admin:settlement'),
      schema: {
        tags,
        summary: 'Settle a day now (once per date: a completed day answers its earlier result)',
        body: Type.Object(
          { date: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }) },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => runSettlement(dependencies, request.body.date),
  );

  app.get(
    '/v1/admin/settlement/runs',
    {
      preHandler: requireScopes(authenticator, 'admin:read'),
      schema: {
        tags,
        summary: 'List settlement runs with their status and progress',
        querystring: ListQuery,
      },
    },
    async (request) => ({
      data: (await listJobRuns(sql, request.query.limit ?? 20)).map((row) => ({
        id: row.id,
        parameters: row.params_key,
        status: row.status,
        chunksDone: row.chunks_done,
        itemsDone: Number(row.items_done),
        attempts: row.attempts,
        startedAt: row.started_at.toISOString(),
        finishedAt: row.finished_at?.toISOString() ?? null,
        summary: row.summary,
      })),
    }),
  );
}
