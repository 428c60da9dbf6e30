// Settlement and payouts over HTTP. Merchants (scope balance:read) see their own batches and
// payouts; operators (admin:settlement) run a day's settlement and (admin:read) list the runs.
import { Type } from 'typebox';
import { documented as answers } from './documented.ts';
import type { HttpApp } from '../../../platform/http/app.ts';
import { merchantIdOf, requireScopes, type RequestAuthenticator } from '../../../platform/http/auth.ts';
import { DomainError } from '../../../platform/errors.ts';
import { amountToJson, totalSchema, totalToJson } from '../../../platform/money.ts';
import { Readable } from 'node:stream';
import { reconcileReport } from '../application/reconcile.ts';
import { resolveException } from '../application/resolve-exception.ts';
import { runSettlement, type SettlementDependencies } from '../application/settlement-job.ts';
import {
  batchLines,
  findBatch,
  findPayout,
  listBatches,
  listJobRuns,
  jobRunView,
  listPayouts,
  type BatchRow,
  type PayoutRow,
} from '../infra/settlement-repository.ts';

const tags = ['settlement'];
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
// Query strings arrive as text: limits are digits, turned into a number here (1 to `max`).
const limitText = (max: number) =>
  Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: `1 to ${max}, default 20.` }));
const ListQuery = Type.Object({ limit: limitText(100) });
function limitOf(text: string | undefined, max: number): number {
  const value = Number(text ?? 20);
  if (value < 1 || value > max) throw new DomainError('invalid_limit', 400, `limit must be 1 to ${max}.`);
  return value;
}

function describeBatch(batch: BatchRow) {
  return {
    id: batch.id,
    settlementDate: batch.settlement_date,
    acquirer: batch.acquirer,
    currency: batch.currency,
    itemCount: batch.item_count,
    gross: totalToJson(batch.gross),
    refunds: totalToJson(batch.refunds),
    fees: totalToJson(batch.fees),
    net: totalToJson(batch.net),
    runId: batch.run_id,
    createdAt: batch.created_at.toISOString(),
  };
}

function describePayout(payout: PayoutRow) {
  return {
    id: payout.id,
    currency: payout.currency,
    amount: totalToJson(payout.amount),
    status: payout.status,
    ...(payout.failure_reason !== null && { failureReason: payout.failure_reason }),
    createdAt: payout.created_at.toISOString(),
    ...(payout.sent_at !== null && { sentAt: payout.sent_at.toISOString() }),
    ...(payout.finished_at !== null && { finishedAt: payout.finished_at.toISOString() }),
  };
}

// The answers, for the OpenAPI document (`documentedResponses`: the handlers build the bodies). A
// line's amount is one operation's (a JSON integer); totals, fees and payouts are sums (ADR 27).
const problemAnswer = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});
const BatchDocument = Type.Object(
  {
    id: Type.String(),
    settlementDate: Type.String({ format: 'date' }),
    acquirer: Type.String(),
    currency: Type.String({ pattern: '^[A-Z]{3}$' }),
    itemCount: Type.Integer(),
    gross: totalSchema('Captures settled in the batch.'),
    refunds: totalSchema('Refunds netted in the batch.'),
    fees: totalSchema("PayFlow's fees on the batch's captures."),
    net: totalSchema('Gross less refunds and fees (negative: carried over).'),
    runId: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: true },
);
const BatchWithLines = Type.Intersect([
  BatchDocument,
  Type.Object({
    lines: Type.Array(
      Type.Object({
        paymentId: Type.String(),
        type: Type.String(),
        amount: Type.Integer({ description: 'The capture or refund, minor units.' }),
        fee: totalSchema("PayFlow's fee on this capture (from the merchant's pricing)."),
        occurredAt: Type.String({ format: 'date-time' }),
      }),
    ),
  }),
]);
const PayoutDocument = Type.Object(
  {
    id: Type.String(),
    currency: Type.String({ pattern: '^[A-Z]{3}$' }),
    amount: totalSchema("The merchant's available balance paid out."),
    status: Type.String(),
    failureReason: Type.Optional(Type.String()),
    createdAt: Type.String({ format: 'date-time' }),
    sentAt: Type.Optional(Type.String({ format: 'date-time' })),
    finishedAt: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: true },
);
const json = (description: string, schema: unknown) => ({
  description,
  content: { 'application/json': { schema } },
});
const documented = {
  settlements: {
    200: json('Newest first.', Type.Object({ data: Type.Array(BatchDocument) })),
    400: problemAnswer('`invalid_limit`, `validation_failed`.'),
  },
  settlement: {
    200: json('The batch with its lines.', BatchWithLines),
    404: problemAnswer('`settlement_not_found` (also for another merchant’s batch).'),
  },
  payouts: {
    200: json('Newest first.', Type.Object({ data: Type.Array(PayoutDocument) })),
    400: problemAnswer('`invalid_limit`, `validation_failed`.'),
  },
  payout: {
    200: json('The payout.', PayoutDocument),
    404: problemAnswer('`payout_not_found` (also for another merchant’s payout).'),
  },
};

const notFound = (what: 'settlement' | 'payout') =>
  new DomainError(`${what}_not_found`, 404, `No such ${what}.`);

export function registerSettlementRoutes(
  app: HttpApp,
  dependencies: SettlementDependencies & {
    readonly authenticator: RequestAuthenticator;
    /** Where the acquirer's settlement reports are fetched from (its base URL). */
    readonly acquirerUrl: string | undefined;
  },
): void {
  const { sql, authenticator } = dependencies;
  const read = requireScopes(authenticator, 'balance:read');

  app.get(
    '/settlements',
    {
      preHandler: read,
      schema: {
        tags,
        summary: "List the merchant's settlement batches",
        querystring: ListQuery,
        documentedResponses: documented.settlements,
      },
    },
    async (request) => ({
      data: (
        await listBatches(sql, {
          merchantId: merchantIdOf(request),
          limit: limitOf(request.query.limit, 100),
        })
      ).map(describeBatch),
    }),
  );

  app.get(
    '/settlements/:id',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'Read a settlement batch with its lines',
        params: IdParams,
        documentedResponses: documented.settlement,
      },
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
          fee: totalToJson(line.fee),
          occurredAt: line.occurred_at.toISOString(),
        })),
      };
    },
  );

  app.get(
    '/settlements/:id/lines.csv',
    {
      preHandler: read,
      schema: {
        tags,
        summary: "A settlement batch's lines as CSV",
        params: IdParams,
        documentedResponses: answers.batchCsv,
      },
    },
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
    {
      preHandler: read,
      schema: {
        tags,
        summary: "List the merchant's payouts",
        querystring: ListQuery,
        documentedResponses: documented.payouts,
      },
    },
    async (request) => ({
      data: (
        await listPayouts(sql, {
          merchantId: merchantIdOf(request),
          limit: limitOf(request.query.limit, 100),
        })
      ).map(describePayout),
    }),
  );

  app.get(
    '/payouts/:id',
    {
      preHandler: read,
      schema: { tags, summary: 'Read a payout', params: IdParams, documentedResponses: documented.payout },
    },
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
        documentedResponses: answers.runSettlement,
      },
    },
    async (request) => runSettlement(dependencies, request.body.date),
  );

  // Reports arrive as text/csv and are read as a stream (never buffered whole).
  app.addContentTypeParser('text/csv', (_request, payload, done) => done(null, payload));
  const settle = requireScopes(authenticator, 'admin:settlement');
  const adminRead = requireScopes(authenticator, 'admin:read');
  const DateQuery = Type.Object({ date: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })) });

  app.post(
    '/v1/admin/reconciliation/reports',
    {
      preHandler: settle,
      schema: {
        tags,
        summary: "Reconcile an acquirer settlement report (text/csv, Adyen's settlement details shape)",
        querystring: DateQuery,
        documentedResponses: answers.reconcileReport,
      },
    },
    async (request, reply) => {
      if (!(request.body instanceof Readable))
        throw new DomainError('unsupported_media_type', 415, 'Send the report as text/csv.');
      const run = await reconcileReport(dependencies, request.body, {
        source: `upload ${request.id}`,
        ...(request.query.date !== undefined && { date: request.query.date }),
      });
      return reply.code(run.alreadyReconciled ? 200 : 201).send(run);
    },
  );

  app.post(
    '/v1/admin/reconciliation/fetch',
    {
      preHandler: settle,
      schema: {
        tags,
        summary: "Fetch a day's settlement report from the acquirer and reconcile it",
        body: Type.Object(
          {
            date: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }),
            /** Simulator only: faults to inject, as its query string (`missing=pay_….capture`). */
            simulatorFaults: Type.Optional(Type.String({ maxLength: 2000 })),
          },
          { additionalProperties: false },
        ),
        documentedResponses: answers.fetchReport,
      },
    },
    async (request, reply) => {
      if (!dependencies.acquirerUrl) throw new DomainError('no_acquirer', 409, 'No acquirer URL is known.');
      const faults = request.body.simulatorFaults ? `?${request.body.simulatorFaults}` : '';
      const response = await fetch(
        `${dependencies.acquirerUrl}/v1/settlement-reports/${request.body.date}${faults}`,
        { signal: AbortSignal.timeout(30_000) },
      );
      if (response.status !== 200 || !response.body)
        throw new DomainError(
          'acquirer_report_unavailable',
          502,
          `The acquirer answered ${response.status}.`,
        );
      const run = await reconcileReport(dependencies, Readable.fromWeb(response.body as never), {
        source: `acquirer report ${request.body.date}`,
        date: request.body.date,
      });
      return reply.code(run.alreadyReconciled ? 200 : 201).send(run);
    },
  );

  app.get(
    '/v1/admin/reconciliation/runs',
    {
      preHandler: adminRead,
      schema: {
        tags,
        summary: 'List reconciliation runs with their status, progress and counts per outcome',
        querystring: ListQuery,
        documentedResponses: answers.listReconciliationRuns,
      },
    },
    async (request) => ({
      data: await sql`
        select run.id, run.source, to_char(run.report_date, 'YYYY-MM-DD') as "reportDate", run.row_count as rows,
          run.counts, run.status, run.job_id as "jobId", job.chunks_done as "chunksDone",
          job.skip_count::integer as "skipCount", (job.checkpoint ->> 'line')::integer as "lastCommittedLine",
          run.created_at as "createdAt"
        from settlement.reconciliation_runs run left join settlement.job_runs job on job.id = run.job_id
        order by run.created_at desc, run.id desc limit ${limitOf(request.query.limit, 100)}`,
    }),
  );

  app.get(
    '/v1/admin/reconciliation/exceptions',
    {
      preHandler: adminRead,
      schema: {
        tags,
        summary: 'List reconciliation exceptions (open or resolved)',
        querystring: Type.Object({
          status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('resolved')])),
          limit: limitText(500),
        }),
        documentedResponses: answers.listExceptions,
      },
    },
    async (request) => ({
      data: (
        await sql<
          {
            id: string;
            run_id: string;
            line: number | null;
            outcome: string;
            reference: string | null;
            currency: string | null;
            expected_amount: bigint | null;
            reported_amount: bigint | null;
            detail: string | null;
            status: string;
            resolution: string | null;
            adjustment: string | null;
            adjustment_journal_id: string | null;
            adjustment_amount: bigint | null;
          }[]
        >`
          select id, run_id, line, outcome, reference, currency, expected_amount, reported_amount, detail, status,
            resolution, adjustment, adjustment_journal_id, adjustment_amount
          from settlement.reconciliation_results
          where status = ${request.query.status ?? 'open'}
          order by run_id desc, line nulls last, id limit ${limitOf(request.query.limit, 500)}`
      ).map((row) => ({
        id: row.id,
        runId: row.run_id,
        line: row.line,
        outcome: row.outcome,
        reference: row.reference,
        currency: row.currency,
        expectedAmount: row.expected_amount === null ? null : totalToJson(row.expected_amount),
        reportedAmount: row.reported_amount === null ? null : totalToJson(row.reported_amount),
        detail: row.detail,
        status: row.status,
        resolution: row.resolution,
        ...(row.adjustment !== null && {
          adjustment: {
            kind: row.adjustment,
            journalId: row.adjustment_journal_id,
            amount: totalToJson(row.adjustment_amount ?? 0n),
          },
        }),
      })),
    }),
  );

  app.post(
    '/v1/admin/reconciliation/exceptions/:id/resolve',
    {
      preHandler: settle,
      schema: {
        tags,
        summary: 'Resolve a reconciliation exception with a reason, optionally posting an adjustment journal',
        description:
          'adjustment `acquirer_difference` (on an amount_mismatch): the acquirer paid more or less than ' +
          'PayFlow recorded; the difference posts between bank and acquirer_costs, the merchant is owed what ' +
          'was captured. `merchant_chargeback` (on a chargeback): the merchant bears it, its available ' +
          'balance is debited. Journal, resolution and `settlement.adjusted.v1` commit together; ' +
          '422 adjustment_not_applicable otherwise.',
        params: IdParams,
        body: Type.Object(
          {
            reason: Type.String({ minLength: 1, maxLength: 500 }),
            adjustment: Type.Optional(
              Type.Union([Type.Literal('acquirer_difference'), Type.Literal('merchant_chargeback')]),
            ),
          },
          { additionalProperties: false },
        ),
        documentedResponses: answers.resolveException,
      },
    },
    async (request) => {
      const resolved = await resolveException(dependencies, {
        exceptionId: request.params.id,
        reason: request.body.reason,
        ...(request.body.adjustment !== undefined && { adjustment: request.body.adjustment }),
      });
      return {
        id: resolved.id,
        status: resolved.status,
        ...(resolved.adjustment && {
          adjustment: { ...resolved.adjustment, amount: totalToJson(resolved.adjustment.amount) },
        }),
      };
    },
  );

  app.get(
    '/v1/admin/settlement/runs',
    {
      preHandler: requireScopes(authenticator, 'admin:read'),
      schema: {
        tags,
        summary: 'List settlement runs with their status and progress',
        querystring: ListQuery,
        documentedResponses: answers.listSettlementRuns,
      },
    },
    async (request) => ({
      data: (await listJobRuns(sql, limitOf(request.query.limit, 100))).map(jobRunView),
    }),
  );
}
