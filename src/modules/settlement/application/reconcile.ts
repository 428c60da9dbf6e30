// Reconciliation of an acquirer settlement report against what PayFlow recorded (ADR 20). The
// report is read as a stream (csv-parse), never whole in memory; each row is matched to the
// settlement item it names (a capture by payment id, a refund by refund id) and gets one outcome:
// matched, amount_mismatch, cost_mismatch (the acquirer kept another amount than PayFlow expected),
// unexpected_in_report, duplicate_in_report or chargeback; then every
// item of the report's days that no row named is missing_in_report (answered as settled late when
// a later report names the item). Malformed rows are recorded with their line up to a skip limit;
// past it the whole import fails and nothing is recorded. The run, its results and
// `reconciliation.completed.v1` commit together; the same file (by SHA-256) a second time records
// nothing and answers the first run.
import { createHash, randomBytes } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { DomainError } from '../../../platform/errors.ts';
import type { TransactionSql } from '../../../platform/db/client.ts';
import { newId } from '../../../platform/ids.ts';
import { basisPoints } from '../domain/pricing.ts';
import { checkHeader, parseReportRow, ReportError, type ReportRow } from '../domain/report.ts';
import { resolveSettledLate } from '../infra/settlement-repository.ts';
import type { SettlementDependencies } from './settlement-job.ts';

export const reconciliationOutcomes = [
  'matched',
  'amount_mismatch',
  'cost_mismatch',
  'unexpected_in_report',
  'duplicate_in_report',
  'missing_in_report',
  'chargeback',
  'malformed',
] as const;
export type ReconciliationOutcome = (typeof reconciliationOutcomes)[number];

export interface ReconciliationOptions {
  readonly source: string;
  /** Malformed rows recorded before the import fails as a whole. */
  readonly skipLimit?: number;
  readonly maxBytes?: number;
  /** The day the report covers, when its rows cannot tell (an empty report). */
  readonly date?: string;
}

export interface ReconciliationRun {
  readonly runId: string;
  readonly alreadyReconciled: boolean;
  readonly rows: number;
  readonly counts: Readonly<Record<ReconciliationOutcome, number>>;
}

export const defaultSkipLimit = 10;
export const reportBytesMax = 200 * 1024 * 1024;
/** A line longer than this is malformed (a 10 MB line is refused, not buffered). */
export const recordBytesMax = 64 * 1024;

function emptyCounts(): Record<ReconciliationOutcome, number> {
  return Object.fromEntries(reconciliationOutcomes.map((outcome) => [outcome, 0])) as Record<
    ReconciliationOutcome,
    number
  >;
}

interface ResultRow {
  line: number | null;
  outcome: ReconciliationOutcome;
  reference: string | null;
  itemId: string | null;
  currency: string | null;
  expected: bigint | null;
  reported: bigint | null;
  detail: string | null;
}

async function insertResult(transaction: TransactionSql, runId: string, result: ResultRow): Promise<void> {
  await transaction`
    insert into settlement.reconciliation_results (id, run_id, line, outcome, reference, item_id, currency,
      expected_amount, reported_amount, detail, status)
    values (${newId('rcx')}, ${runId}, ${result.line}, ${result.outcome}, ${result.reference}, ${result.itemId},
      ${result.currency}, ${result.expected}, ${result.reported}, ${result.detail},
      ${result.outcome === 'matched' ? 'none' : 'open'})`;
}

export async function reconcileReport(
  dependencies: SettlementDependencies,
  input: Readable,
  options: ReconciliationOptions,
): Promise<ReconciliationRun> {
  const skipLimit = options.skipLimit ?? defaultSkipLimit;
  const maxBytes = options.maxBytes ?? reportBytesMax;
  const hash = createHash('sha256');
  let bytes = 0;
  const counting = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        callback(new DomainError('report_too_large', 413, `The report is larger than ${maxBytes} bytes.`));
        return;
      }
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  const { clock, sql } = dependencies;
  try {
    return await sql.begin(async (transaction) => {
      const runId = newId('rcn');
      const now = clock.now();
      await transaction`
        insert into settlement.reconciliation_runs (id, report_sha256, source, row_count, counts, created_at)
        values (${runId}, ${randomBytes(32).toString('hex')}, ${options.source.slice(0, 255)}, 0, '{}', ${now})`;
      const counts = emptyCounts();
      const seen = new Set<string>();
      const days = new Set<string>(options.date ? [options.date] : []);
      let rows = 0;
      const record = async (result: ResultRow) => {
        counts[result.outcome] += 1;
        await insertResult(transaction, runId, result);
      };
      const handle = async (row: ReportRow) => {
        if (row.type === 'Fee' || row.type === 'MerchantPayout') return;
        if (row.type === 'Chargeback') {
          // The capture charged back, when PayFlow knows it: an adjustment needs its merchant.
          const [charged] = await transaction<{ id: string }[]>`
            select id from settlement.items
            where operation_id = ${row.operationId} and kind = 'capture' limit 1`;
          await record({
            line: row.line,
            outcome: 'chargeback',
            reference: row.merchantReference,
            itemId: charged?.id ?? null,
            currency: row.currency ?? null,
            expected: null,
            reported: row.gross,
            detail: `chargeback ${row.pspReference}`.slice(0, 500),
          });
          return;
        }
        const kind = row.type === 'Settled' ? 'capture' : 'refund';
        const key = `${kind}:${row.operationId}`;
        const base = {
          line: row.line,
          reference: row.merchantReference,
          currency: row.currency ?? null,
          reported: row.gross,
        };
        if (seen.has(key)) {
          await record({
            ...base,
            outcome: 'duplicate_in_report',
            itemId: null,
            expected: null,
            detail: null,
          });
          return;
        }
        seen.add(key);
        const [item] = await transaction<
          { id: string; amount: bigint; currency: string; occurred_at: Date; acquirer_cost: bigint | null }[]
        >`
          select id, amount, currency, occurred_at, acquirer_cost from settlement.items
          where operation_id = ${row.operationId} and kind = ${kind} limit 1`;
        if (!item) {
          await record({
            ...base,
            outcome: 'unexpected_in_report',
            itemId: null,
            expected: null,
            detail: null,
          });
          return;
        }
        days.add(item.occurred_at.toISOString().slice(0, 10));
        // An item an earlier report lacked has settled late: that exception is answered.
        await resolveSettledLate(transaction, item.id, {
          reason: `settled late: report run ${runId}, line ${row.line}`,
          now,
        });
        const same = item.amount === row.gross && item.currency === row.currency;
        // What the acquirer kept: PayFlow's expectation (stored at settlement, else its price now).
        const expectedCost = item.acquirer_cost ?? basisPoints(item.amount, dependencies.acquirerCostBps);
        if (
          same &&
          kind === 'capture' &&
          row.acquirerCost !== undefined &&
          row.acquirerCost !== expectedCost
        ) {
          await record({
            ...base,
            outcome: 'cost_mismatch',
            itemId: item.id,
            expected: expectedCost,
            reported: row.acquirerCost,
            detail: `PayFlow expected the acquirer to keep ${expectedCost} ${item.currency}, the report ${row.acquirerCost}`,
          });
          return;
        }
        await record({
          ...base,
          outcome: same ? 'matched' : 'amount_mismatch',
          itemId: item.id,
          expected: item.amount,
          detail: same
            ? null
            : `PayFlow recorded ${item.amount} ${item.currency}, the report ${row.gross} ${row.currency}`,
        });
      };
      const parser = parse({
        bom: true,
        columns: (header: string[]) => {
          checkHeader(header);
          return header;
        },
        max_record_size: recordBytesMax,
        skip_empty_lines: true,
        info: true,
      });
      const consume = async () => {
        try {
          await consumeRows();
        } catch (error) {
          parser.destroy(error as Error);
          input.destroy();
          throw error;
        }
      };
      const consumeRows = async () => {
        for await (const parsed of parser as AsyncIterable<{
          record: Record<string, string>;
          info: { lines: number };
        }>) {
          rows += 1;
          const line = parsed.info.lines;
          let row: ReportRow;
          try {
            row = parseReportRow(parsed.record, line);
          } catch (error) {
            if (!(error instanceof ReportError)) throw error;
            if (counts.malformed >= skipLimit)
              throw new DomainError(
                'too_many_malformed_rows',
                422,
                `More than ${skipLimit} malformed rows; the last: ${error.message}. Nothing was recorded.`,
              );
            await record({
              line,
              outcome: 'malformed',
              reference: null,
              itemId: null,
              currency: null,
              expected: null,
              reported: null,
              detail: error.message.slice(0, 500),
            });
            continue;
          }
          await handle(row);
        }
      };
      await Promise.all([pipeline(input, counting, parser), consume()]).catch((error: unknown) => {
        throw toReportProblem(error);
      });
      // Every item of the report's days that no row named.
      for (const day of [...days].sort()) {
        const from = new Date(`${day}T00:00:00.000Z`);
        const missing = await transaction<
          { id: string; operation_id: string; kind: string; amount: bigint; currency: string }[]
        >`
          select id, operation_id, kind, amount, currency from settlement.items
          where occurred_at >= ${from} and occurred_at < ${new Date(from.getTime() + 86_400_000)}
          order by occurred_at, id`;
        for (const item of missing) {
          if (seen.has(`${item.kind}:${item.operation_id}`)) continue;
          await record({
            line: null,
            outcome: 'missing_in_report',
            reference: item.operation_id,
            itemId: item.id,
            currency: item.currency,
            expected: item.amount,
            reported: null,
            detail: `${item.kind} of ${day} not in the report`,
          });
        }
      }
      const sha = hash.digest('hex');
      const [existing] = await transaction<{ id: string }[]>`
        select id from settlement.reconciliation_runs where report_sha256 = ${sha}`;
      if (existing) throw new AlreadyReconciled(existing.id);
      await transaction`
        update settlement.reconciliation_runs set report_sha256 = ${sha}, row_count = ${rows},
          counts = ${transaction.json(counts)}, report_date = ${[...days].sort()[0] ?? null}
        where id = ${runId}`;
      await dependencies.stage(transaction, {
        type: 'reconciliation.completed.v1',
        aggregateId: runId,
        merchantId: 'platform',
        payload: { runId, rows, ...counts },
        occurredAt: now,
      });
      return { runId, alreadyReconciled: false, rows, counts };
    });
  } catch (error) {
    if (error instanceof AlreadyReconciled) {
      const [run] = await sql<{ row_count: number; counts: Record<ReconciliationOutcome, number> }[]>`
        select row_count, counts from settlement.reconciliation_runs where id = ${error.runId}`;
      return { runId: error.runId, alreadyReconciled: true, rows: run!.row_count, counts: run!.counts };
    }
    throw error;
  }
}

class AlreadyReconciled extends Error {
  constructor(readonly runId: string) {
    super(`already reconciled as ${runId}`);
  }
}

function toReportProblem(error: unknown): unknown {
  if (error instanceof DomainError) return error;
  if (error instanceof ReportError)
    return new DomainError('invalid_report', 422, error.message, { line: error.line });
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('CSV_')) {
    const lines = (error as { lines?: unknown }).lines;
    const line = typeof lines === 'number' ? lines : undefined;
    const reason =
      code === 'CSV_MAX_RECORD_SIZE'
        ? `a row is longer than ${recordBytesMax} bytes`
        : (error as Error).message.replace(/^Invalid[^:]*: /, '').slice(0, 200);
    return new DomainError(
      'invalid_report',
      422,
      `${line !== undefined ? `line ${line}: ` : ''}${reason}`,
      line !== undefined ? { line } : {},
    );
  }
  return error;
}
