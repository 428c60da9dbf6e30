// The settlement, payout and reconciliation answers, for /openapi.json only (`documentedResponses`:
// the routes build the bodies; Fastify does not serialize with these). Money as the routes emit it:
// see `total` below for batch, run and payout sums.
import { Type } from 'typebox';
import { currency, dateTime, jsonAnswer, nullableDateTime } from '../../../platform/http/documented.ts';
import { totalSchema } from '../../../platform/money.ts';
import { reconciliationOutcomes } from '../application/reconcile.ts';

const date = Type.String({ format: 'date' });
const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);
/** A sum of many amounts (run totals): a decimal string of minor units (ADR 27). */
const total = totalSchema('A sum over the run.');
/** Reconciliation figures (ADR 27): decimal strings of minor units. */
const figure = totalSchema('A reconciliation figure.');

const RunSummary = Type.Object(
  {
    cutoff: Type.Optional(dateTime),
    batches: Type.Optional(Type.Integer()),
    items: Type.Optional(Type.Integer()),
    gross: Type.Optional(total),
    refunds: Type.Optional(total),
    fees: Type.Optional(total),
    acquirerCosts: Type.Optional(total),
    payouts: Type.Optional(Type.Integer({ description: 'Payouts created by the run.' })),
    finishedAt: Type.Optional(dateTime),
  },
  { description: 'Totals over every currency of the batches the run made (empty until it completes).' },
);

const SettlementRun = Type.Object({
  runId: Type.String(),
  date,
  outcome: Type.Union([Type.Literal('completed'), Type.Literal('already_completed')], {
    description: '`already_completed`: the day had been settled before; nothing was done.',
  }),
  summary: RunSummary,
});

const JobRun = Type.Object({
  id: Type.String(),
  job: Type.String(),
  parameters: Type.String(),
  status: Type.Union([Type.Literal('running'), Type.Literal('completed'), Type.Literal('failed')]),
  chunksDone: Type.Integer(),
  itemsDone: Type.Integer(),
  readCount: Type.Optional(Type.Integer({ description: 'Jobs other than `settlement`: rows read.' })),
  writeCount: Type.Optional(Type.Integer()),
  skipCount: Type.Optional(Type.Integer({ description: 'Malformed rows skipped.' })),
  lastCommittedLine: Type.Optional(nullable(Type.Integer())),
  attempts: Type.Integer(),
  startedAt: dateTime,
  finishedAt: nullableDateTime,
  lastError: Type.Optional(Type.String()),
  summary: Type.Optional(
    Type.Record(Type.String(), Type.Unknown(), {
      description: 'What the job reported when it finished (a settlement run: its totals).',
    }),
  ),
});

const Counts = Type.Object(
  Object.fromEntries(reconciliationOutcomes.map((outcome) => [outcome, Type.Integer()])),
  { description: 'Report rows per outcome.' },
);

const ReconciliationRun = Type.Object({
  runId: Type.String(),
  jobId: Type.Optional(Type.String({ description: 'The batch job instance that imported the report.' })),
  alreadyReconciled: Type.Boolean({ description: 'true: this report had been reconciled before (200).' }),
  rows: Type.Integer(),
  counts: Counts,
  resumedAfterRows: Type.Optional(
    Type.Integer({
      description: 'Rows an interrupted import of the same report had committed (not applied again).',
    }),
  ),
});

const adjustmentKind = Type.Union([Type.Literal('acquirer_difference'), Type.Literal('merchant_chargeback')]);

const ReconciliationException = Type.Object({
  id: Type.String(),
  runId: Type.String(),
  line: nullable(Type.Integer()),
  outcome: Type.Union(reconciliationOutcomes.map((outcome) => Type.Literal(outcome))),
  reference: nullable(Type.String()),
  currency: nullable(currency),
  expectedAmount: nullable(figure),
  reportedAmount: nullable(figure),
  detail: nullable(Type.String()),
  status: Type.Union([Type.Literal('open'), Type.Literal('resolved')]),
  resolution: nullable(Type.String()),
  adjustment: Type.Optional(
    Type.Object({ kind: adjustmentKind, journalId: nullable(Type.String()), amount: figure }),
  ),
});

const Resolved = Type.Object({
  id: Type.String(),
  status: Type.Literal('resolved'),
  adjustment: Type.Optional(
    Type.Object({
      kind: adjustmentKind,
      journalId: Type.String(),
      merchantId: Type.String(),
      currency,
      amount: totalSchema('What the bank got more (positive) or less (negative); a chargeback’s amount.'),
    }),
  ),
});

const reconciled = {
  200: jsonAnswer(ReconciliationRun, 'This report had been reconciled before: its earlier result.'),
  201: jsonAnswer(ReconciliationRun, 'Reconciled: the run with its counts per outcome.'),
};

export const documented = {
  batchCsv: {
    200: {
      description:
        'One line per item: `payment_id,type,amount,fee,currency,occurred_at` (amounts in minor units).',
      content: { 'text/csv': { schema: Type.String() } },
    },
  },
  runSettlement: {
    200: jsonAnswer(SettlementRun, 'The day is settled (now, or earlier: `outcome`).'),
  },
  listSettlementRuns: { 200: jsonAnswer(Type.Object({ data: Type.Array(JobRun) }), 'Newest first.') },
  reconcileReport: reconciled,
  fetchReport: reconciled,
  listReconciliationRuns: {
    200: jsonAnswer(
      Type.Object({
        data: Type.Array(
          Type.Object({
            id: Type.String(),
            source: Type.String(),
            reportDate: nullable(date),
            rows: Type.Integer(),
            counts: Counts,
            status: Type.Union([Type.Literal('running'), Type.Literal('completed'), Type.Literal('failed')]),
            jobId: nullable(Type.String()),
            chunksDone: nullable(Type.Integer()),
            skipCount: nullable(Type.Integer({ description: 'Malformed rows skipped.' })),
            lastCommittedLine: nullable(Type.Integer()),
            createdAt: dateTime,
          }),
        ),
      }),
      'Newest first.',
    ),
  },
  listExceptions: {
    200: jsonAnswer(Type.Object({ data: Type.Array(ReconciliationException) }), 'Oldest run last.'),
  },
  resolveException: { 200: jsonAnswer(Resolved, 'Resolved (with the adjustment journal it posted).') },
};
