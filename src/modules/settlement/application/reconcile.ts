// Reconciliation of an acquirer settlement report against what PayFlow recorded (ADR 20), as a
// chunked, restartable batch job after Spring Batch. Each row is matched to the settlement item it
// names (a capture by payment id, a refund by refund id) and gets one outcome: matched,
// amount_mismatch, cost_mismatch (the acquirer kept another amount than PayFlow expected),
// unexpected_in_report, duplicate_in_report or chargeback; then every item of the report's days that
// no row named is missing_in_report (answered as settled late when a later report names the item).
//
// The report is read as a stream, never whole in memory, and parsed once (split on its commas when it
// is simple, ASCII and unquoted as acquirers write it; else by csv-parse), in three steps:
// 1. Check: an upload is spooled to a temporary file; the file is read once to take its SHA-256,
//    check every row and spool the parsed records (one JSON array a line, a temporary file) for the
//    import, which so applies the very bytes the digest names. A broken file (bad header, a line too
//    long, ragged row) or more malformed rows than the skip limit is refused with its line (422) and
//    nothing is recorded. Malformed rows within the limit are recorded as `malformed` with their line
//    and reason.
// 2. Chunks: the job instance is (`reconciliation`, SHA-256). Every CHUNK records of the spool are
//    matched (one read-only round trip looks up the chunk's items and the keys earlier chunks named),
//    then the rows' results and the job's checkpoint (rows read, results written, rows skipped, last
//    line, days so far) commit in one transaction, one round trip. Two chunks are in the pipeline:
//    the next is read and matched while one commits, and it commits only after that one, so the
//    chunks commit in order. A process killed mid-way (kill -9) resumes on the next import of the
//    same bytes after its last committed chunk (the records before it are passed over: the duplicate
//    finder asks the database for the keys they named), so each row is applied once.
// 3. End (REPEATABLE READ): missing items, counts from the recorded results, the run completed and
//    `reconciliation.completed.v1`, in one transaction. The same bytes once completed record nothing
//    and answer the first run.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Transform, type Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { DomainError } from '../../../platform/errors.ts';
import type { TransactionSql } from '../../../platform/db/client.ts';
import { withAdvisoryLock } from '../../../platform/db/advisory-lock.ts';
import { newId } from '../../../platform/ids.ts';
import { basisPoints } from '../domain/pricing.ts';
import type { CurrencyCode } from '../../../platform/money.ts';
import {
  checkHeader,
  parseReportRow,
  ReportError,
  requiredColumns,
  type ReportRow,
} from '../domain/report.ts';
import { NotSimpleCsv, simpleCsvRecords } from './simple-csv.ts';
import { claimJobRun, finishJobRun, restartJobRun, type JobRunRow } from '../infra/settlement-repository.ts';
import { withRetries, type SettlementDependencies } from './settlement-job.ts';

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

export const reconciliationJobName = 'reconciliation';

export interface ReconciliationProgress {
  readonly chunks: number;
  readonly rows: number;
  readonly totalRows: number;
}

export interface ReconciliationOptions {
  readonly source: string;
  /** Malformed rows recorded before the import is refused as a whole. */
  readonly skipLimit?: number;
  readonly maxBytes?: number;
  /** The day the report covers, when its rows cannot tell (an empty report). */
  readonly date?: string;
  /** Rows per committed chunk (default: the settlement chunk size, SETTLEMENT_CHUNK_SIZE). */
  readonly chunkSize?: number;
  readonly onProgress?: (progress: ReconciliationProgress) => void;
}

export interface ReconciliationRun {
  readonly runId: string;
  readonly jobId?: string;
  readonly alreadyReconciled: boolean;
  readonly rows: number;
  readonly counts: Readonly<Record<ReconciliationOutcome, number>>;
  /** Rows already committed by an interrupted import of the same report, not applied again. */
  readonly resumedAfterRows?: number;
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
  /** The row's kind and operation, on the first row of that key in the run (the duplicate finder's). */
  key?: string;
  outcome: ReconciliationOutcome;
  reference: string | null;
  itemId: string | null;
  currency: string | null;
  expected: bigint | null;
  reported: bigint | null;
  detail: string | null;
}

/** What the job remembers between chunks (Spring Batch's execution context). */
interface Checkpoint {
  /** Records (CSV rows after the header) committed. */
  readonly records: number;
  /** The line of the last committed record. */
  readonly line: number;
  /** The days of the items the committed rows named (their missing items are looked up at the end). */
  readonly days: readonly string[];
}

interface ParsedRecord {
  readonly line: number;
  readonly row: ReportRow | undefined;
  readonly error: ReportError | undefined;
}

/**
 * The maker of `ParsedRecord`s from a report's records in order: the first is the header (checked,
 * nothing made), each next one a record with its line and its row or why it is malformed. Only the
 * report's required columns are looked at.
 */
function recordReader(): (fields: string[], line: number) => ParsedRecord | null {
  let columns: number[] | undefined;
  return (fields, line) => {
    if (!columns) {
      checkHeader(fields);
      columns = requiredColumns.map((column) => fields.lastIndexOf(column));
      return null;
    }
    const named: Record<string, string> = {};
    for (let index = 0; index < columns.length; index += 1)
      named[requiredColumns[index]!] = fields[columns[index]!]!;
    try {
      return { line, row: parseReportRow(named, line), error: undefined };
    } catch (error) {
      if (!(error instanceof ReportError)) throw error;
      return { line, row: undefined, error };
    }
  };
}

/** `file`'s records in order (csv-parse, fields as arrays), a batch of one at a time. */
async function* parseRecords(file: string, digest: ReportDigest): AsyncGenerator<ParsedRecord[]> {
  const toRecord = recordReader();
  const parser = parse({
    bom: true,
    max_record_size: recordBytesMax,
    skip_empty_lines: true,
    // The typings want a record out of the same type as in; csv-parse passes on whatever it returns.
    on_record: ((fields: string[], context: { lines: number }) =>
      toRecord(fields, context.lines)) as unknown as (fields: string[]) => string[],
  });
  const input = createReadStream(file);
  const counting = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        digest.update(chunk);
      } catch (error) {
        callback(error as Error);
        return;
      }
      callback(null, chunk);
    },
  });
  const piping = pipeline(input, counting, parser).catch((error: unknown) => {
    parser.destroy(error as Error);
  });
  try {
    for await (const record of parser as AsyncIterable<ParsedRecord>) yield [record];
  } finally {
    input.destroy();
    await piping;
  }
}

/** `file`'s records in order when the report is simple (see simple-csv.ts); else throws NotSimpleCsv. */
async function* parseSimpleRecords(file: string, digest: ReportDigest): AsyncGenerator<ParsedRecord[]> {
  const toRecord = recordReader();
  const input = createReadStream(file);
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      digest.update(chunk);
      yield chunk;
    }
  }
  try {
    for await (const batch of simpleCsvRecords(counted())) {
      const records: ParsedRecord[] = [];
      for (const { fields, line } of batch) {
        const record = toRecord(fields, line);
        if (record) records.push(record);
      }
      yield records;
    }
  } finally {
    input.destroy();
  }
}

/** The report's SHA-256 over the bytes read, refusing more than `maxBytes` (413). */
class ReportDigest {
  private readonly hash = createHash('sha256');
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  update(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes)
      throw new DomainError('report_too_large', 413, `The report is larger than ${this.maxBytes} bytes.`);
    this.hash.update(chunk);
  }

  hex(): string {
    return this.hash.digest('hex');
  }
}

/**
 * A record as the check spools it for the import, one JSON array a line: a row
 * `[line, type, merchant reference, psp reference, currency, gross, acquirer cost, batch]`
 * (amounts as strings), or a malformed one `[line, null, why]`.
 */
type SpooledRecord =
  | [number, ReportRow['type'], string, string, string | null, string, string | null, string]
  | [number, null, string];

function spooled({ line, row, error }: ParsedRecord): SpooledRecord {
  if (!row) return [line, null, error!.message.slice(0, 500)];
  return [
    line,
    row.type,
    row.merchantReference,
    row.pspReference,
    row.currency ?? null,
    row.gross.toString(),
    row.acquirerCost?.toString() ?? null,
    row.batchNumber,
  ];
}

/** A record of the spool: its line, and its row or why it is malformed. */
interface ImportRecord {
  readonly line: number;
  readonly row: ReportRow | undefined;
  readonly malformed: string | undefined;
}

/** The checked records of a spool after its first `skip`, in the report's order. */
async function* readSpool(file: string, skip: number): AsyncGenerator<ImportRecord> {
  const input = createReadStream(file);
  let index = 0;
  try {
    for await (const text of createInterface({ input, crlfDelay: Infinity })) {
      index += 1;
      if (index <= skip) continue;
      const record = JSON.parse(text) as SpooledRecord;
      if (record[1] === null) {
        yield { line: record[0], row: undefined, malformed: record[2] };
        continue;
      }
      const [line, type, merchantReference, pspReference, currency, gross, acquirerCost, batchNumber] =
        record;
      yield {
        line,
        row: {
          line,
          type,
          merchantReference,
          operationId: type === 'Fee' || type === 'MerchantPayout' ? '' : merchantReference.split('.')[0]!,
          pspReference,
          currency: (currency ?? undefined) as CurrencyCode | undefined,
          gross: BigInt(gross),
          acquirerCost: acquirerCost === null ? undefined : BigInt(acquirerCost),
          batchNumber,
        },
        malformed: undefined,
      };
    }
  } finally {
    input.destroy();
  }
}

/**
 * Step 1: the report's digest and row count, its records spooled to `spoolFile` for the import (the
 * one CSV parse, and the import applies the very bytes the digest names); refuses a broken report
 * before anything is recorded. A simple report (the usual) is split by simple-csv.ts; any other is
 * read again from its start by csv-parse, whose answer then stands.
 */
async function checkReport(
  file: string,
  spoolFile: string,
  skipLimit: number,
  maxBytes: number,
): Promise<{ sha256: string; records: number }> {
  try {
    return await checkRecords(parseSimpleRecords, file, spoolFile, skipLimit, maxBytes);
  } catch (error) {
    if (!(error instanceof NotSimpleCsv)) throw error;
  }
  // A new file: a write of the first attempt still in flight lands in the unlinked one.
  await rm(spoolFile, { force: true });
  return checkRecords(parseRecords, file, spoolFile, skipLimit, maxBytes);
}

async function checkRecords(
  parser: (file: string, digest: ReportDigest) => AsyncGenerator<ParsedRecord[]>,
  file: string,
  spoolFile: string,
  skipLimit: number,
  maxBytes: number,
): Promise<{ sha256: string; records: number }> {
  const digest = new ReportDigest(maxBytes);
  const out = createWriteStream(spoolFile);
  const write = async (text: string) => {
    // once() rejects if the stream fails meanwhile.
    if (!out.write(text)) await once(out, 'drain');
  };
  let records = 0;
  let malformed = 0;
  let text = '';
  try {
    for await (const batch of parser(file, digest)) {
      for (const record of batch) {
        records += 1;
        text += `${JSON.stringify(spooled(record))}\n`;
        if (!record.error) continue;
        malformed += 1;
        if (malformed > skipLimit)
          throw new DomainError(
            'too_many_malformed_rows',
            422,
            `More than ${skipLimit} malformed rows; the last: ${record.error.message}. Nothing was recorded.`,
            { line: record.line },
          );
      }
      if (text.length >= 64 * 1024) {
        await write(text);
        text = '';
      }
    }
    await write(text);
    out.end();
    await finished(out);
  } catch (error) {
    out.destroy();
    throw toReportProblem(error);
  }
  return { sha256: digest.hex(), records };
}

/** An upload spooled to a temporary file, so that the report can be checked, then read in chunks. */
async function spool(input: Readable, maxBytes: number): Promise<{ file: string; remove(): Promise<void> }> {
  const directory = await mkdtemp(path.join(tmpdir(), 'payflow-report-'));
  const file = path.join(directory, 'report.csv');
  let bytes = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (bytes > maxBytes)
        callback(new DomainError('report_too_large', 413, `The report is larger than ${maxBytes} bytes.`));
      else callback(null, chunk);
    },
  });
  const remove = () => rm(directory, { recursive: true, force: true });
  try {
    await pipeline(input, limit, createWriteStream(file));
  } catch (error) {
    await remove();
    throw error;
  }
  return { file, remove };
}

/**
 * Reconciles a report: `input` is a stream (an upload, spooled first) or the path of a file (read
 * where it is; `payflow jobs restart` can read it again).
 */
export async function reconcileReport(
  dependencies: SettlementDependencies,
  input: Readable | string,
  options: ReconciliationOptions,
): Promise<ReconciliationRun> {
  const maxBytes = options.maxBytes ?? reportBytesMax;
  if (typeof input === 'string') return reconcileFile(dependencies, input, options, true);
  const spooled = await spool(input, maxBytes);
  try {
    return await reconcileFile(dependencies, spooled.file, options, false);
  } finally {
    await spooled.remove();
  }
}

async function completedRun(
  dependencies: SettlementDependencies,
  sha256: string,
): Promise<ReconciliationRun | undefined> {
  const [run] = await dependencies.sql<
    { id: string; job_id: string | null; row_count: number; counts: Record<ReconciliationOutcome, number> }[]
  >`
    select id, job_id, row_count, counts from settlement.reconciliation_runs
    where report_sha256 = ${sha256} and status = 'completed'`;
  if (!run) return undefined;
  return {
    runId: run.id,
    ...(run.job_id !== null && { jobId: run.job_id }),
    alreadyReconciled: true,
    rows: run.row_count,
    counts: run.counts,
  };
}

async function reconcileFile(
  dependencies: SettlementDependencies,
  file: string,
  options: ReconciliationOptions,
  keepsFile: boolean,
): Promise<ReconciliationRun> {
  const directory = await mkdtemp(path.join(tmpdir(), 'payflow-reconcile-'));
  try {
    return await checkAndImport(
      dependencies,
      file,
      path.join(directory, 'records.ndjson'),
      options,
      keepsFile,
    );
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

async function checkAndImport(
  dependencies: SettlementDependencies,
  file: string,
  spoolFile: string,
  options: ReconciliationOptions,
  keepsFile: boolean,
): Promise<ReconciliationRun> {
  const skipLimit = options.skipLimit ?? defaultSkipLimit;
  const { sha256, records: totalRows } = await checkReport(
    file,
    spoolFile,
    skipLimit,
    options.maxBytes ?? reportBytesMax,
  );
  const done = await completedRun(dependencies, sha256);
  if (done) return done;
  const { sql, clock, log } = dependencies;
  const locked = await withAdvisoryLock(sql, { name: `reconciliation:${sha256}` }, async () => {
    const claimed = await sql.begin(async (transaction) => {
      const now = clock.now();
      const { row, created } = await claimJobRun(transaction, {
        id: newId('job'),
        jobName: reconciliationJobName,
        paramsKey: sha256,
        params: {
          sha256,
          source: options.source.slice(0, 255),
          ...(options.date !== undefined && { date: options.date }),
          ...(keepsFile && { file: path.resolve(file) }),
        },
        now,
      });
      if (created) {
        const runId = newId('rcn');
        await transaction`
          insert into settlement.reconciliation_runs (id, report_sha256, source, row_count, counts, created_at,
            status, job_id)
          values (${runId}, ${sha256}, ${options.source.slice(0, 255)}, 0, '{}', ${now}, 'running', ${row.id})`;
        return { job: row, runId };
      }
      if (row.status !== 'completed') {
        await restartJobRun(transaction, row.id, now);
        await transaction`
          update settlement.reconciliation_runs set status = 'running' where job_id = ${row.id}`;
      }
      const [run] = await transaction<{ id: string }[]>`
        select id from settlement.reconciliation_runs where job_id = ${row.id}`;
      return { job: row, runId: run!.id };
    });
    if (claimed.job.status === 'completed') return (await completedRun(dependencies, sha256))!;
    try {
      return await importChunks(dependencies, spoolFile, options, claimed.job, claimed.runId, totalRows);
    } catch (error) {
      log.error({ err: error, jobId: claimed.job.id }, 'reconciliation: the import failed');
      await sql
        .begin(async (transaction) => {
          await finishJobRun(
            transaction,
            claimed.job.id,
            { status: 'failed', error: String(error) },
            clock.now(),
          );
          await transaction`
            update settlement.reconciliation_runs set status = 'failed' where id = ${claimed.runId}`;
        })
        .catch(() => undefined);
      throw error;
    }
  });
  if (!locked.ran)
    throw new DomainError('job_running', 409, 'This report is being reconciled by another process.');
  return locked.value;
}

function rowKey(row: ReportRow): string | undefined {
  if (row.type !== 'Settled' && row.type !== 'Refunded') return undefined;
  return `${row.type === 'Settled' ? 'capture' : 'refund'}:${row.operationId}`;
}

async function importChunks(
  dependencies: SettlementDependencies,
  spoolFile: string,
  options: ReconciliationOptions,
  job: JobRunRow,
  runId: string,
  totalRows: number,
): Promise<ReconciliationRun> {
  const { sql, log } = dependencies;
  const chunkSize = options.chunkSize ?? dependencies.chunkSize;
  const saved = job.checkpoint as Checkpoint | null;
  let checkpoint: Checkpoint = saved ?? { records: 0, line: 1, days: options.date ? [options.date] : [] };
  if (checkpoint.records > 0)
    log.info(
      { jobId: job.id, runId, records: checkpoint.records, line: checkpoint.line },
      'reconciliation: resuming after the last committed chunk',
    );
  const resumedAfterRows = checkpoint.records;
  if (resumedAfterRows > 0) await fillRowKeys(dependencies, spoolFile, runId, resumedAfterRows);
  let chunks = job.chunks_done;
  // A pipeline of two: chunk n+1 is read, looked up and matched (Node's work and a read-only lookup)
  // while chunk n's writes commit; chunk n+1's transaction starts only once chunk n committed, from
  // the checkpoint it wrote, so the chunks commit one after the other as before. The duplicate finder
  // of chunk n+1 asks the database for the keys of the committed chunks and knows chunk n's here.
  let writing: Promise<void> = Promise.resolve();
  let keysInFlight: ReadonlySet<string> = new Set();
  const write = async (prepared: PreparedChunk) => {
    const before = checkpoint;
    checkpoint = await withRetries(
      () =>
        sql.begin((transaction) => writeChunk(dependencies, transaction, job.id, runId, prepared, before)),
      log,
    );
    chunks += 1;
    options.onProgress?.({ chunks, rows: checkpoint.records, totalRows });
  };
  const next = async (chunk: readonly ImportRecord[]) => {
    const prepared = await withRetries(() => prepareChunk(dependencies, runId, chunk, keysInFlight), log);
    await writing;
    keysInFlight = prepared.keys;
    writing = write(prepared);
    // Awaited at the next chunk or the end; meanwhile its failure is not an unhandled rejection.
    writing.catch(() => undefined);
  };
  let pending: ImportRecord[] = [];
  try {
    // The records committed before an interruption are passed over (the duplicate finder reads their
    // keys from the database).
    for await (const record of readSpool(spoolFile, checkpoint.records)) {
      pending.push(record);
      if (pending.length >= chunkSize) {
        await next(pending);
        pending = [];
      }
    }
    if (pending.length > 0) await next(pending);
  } finally {
    // A failure meanwhile waits for the chunk in flight: the job is marked failed after its last commit.
    await writing.catch(() => undefined);
  }
  await writing;
  return withRetries(
    () =>
      sql.begin('isolation level repeatable read', (transaction) =>
        finish(dependencies, transaction, job.id, runId, checkpoint, resumedAfterRows),
      ),
    log,
  );
}

/** The outcomes of the first row of a key in a run: the rows that carry the key (0705). */
const keyedOutcomes = ['matched', 'amount_mismatch', 'cost_mismatch', 'unexpected_in_report'];

/**
 * A run interrupted before migration 0705 and resumed after it has first rows without their key: the
 * duplicate finder and the end's missing items would not see them. Their keys are filled from the
 * committed records (a first row has one of the keyed outcomes, a repeat is duplicate_in_report), a
 * chunk at a time; a run whose rows all have theirs costs one probe.
 */
async function fillRowKeys(
  dependencies: SettlementDependencies,
  spoolFile: string,
  runId: string,
  committed: number,
): Promise<void> {
  const { sql, log } = dependencies;
  const [keyless] = await sql<{ line: number }[]>`
    select line from settlement.reconciliation_results
    where run_id = ${runId} and line is not null and row_key is null and outcome in ${sql(keyedOutcomes)}
    limit 1`;
  if (!keyless) return;
  log.info({ runId }, 'reconciliation: filling the row keys of rows committed before migration 0705');
  let lines: number[] = [];
  let keys: string[] = [];
  const fill = async () => {
    await sql`
      update settlement.reconciliation_results as result set row_key = keyed.row_key
      from unnest(${lines}::integer[], ${keys}::text[]) as keyed (line, row_key)
      where result.run_id = ${runId} and result.line = keyed.line and result.row_key is null
        and result.outcome in ${sql(keyedOutcomes)}`;
    lines = [];
    keys = [];
  };
  let index = 0;
  for await (const { row } of readSpool(spoolFile, 0)) {
    index += 1;
    if (index > committed) break;
    const key = row && rowKey(row);
    if (!key) continue;
    lines.push(row.line);
    keys.push(key);
    if (lines.length >= 5_000) await fill();
  }
  if (lines.length > 0) await fill();
}

interface ItemMatch {
  id: string;
  operation_id: string;
  kind: 'capture' | 'refund';
  amount: bigint;
  currency: string;
  occurred_at: Date;
  acquirer_cost: bigint | null;
  /** An earlier report lacked the item (an open missing_in_report): this row answers it. */
  missing_open: boolean;
}

/** A chunk matched, ready to write: its results, the late items it answers, what its checkpoint adds. */
interface PreparedChunk {
  readonly records: number;
  readonly line: number;
  readonly results: readonly ResultRow[];
  readonly late: readonly { item_id: string; reason: string }[];
  /** The days of the items its rows named. */
  readonly days: ReadonlySet<string>;
  readonly skipped: number;
  /** The row keys it names first (its results that carry a key). */
  readonly keys: ReadonlySet<string>;
}

/**
 * One chunk matched, outside its transaction (read only): one round trip looks up its items and which
 * of its keys a committed chunk of the run named; `keysInFlight` are the keys of the chunk before it,
 * whose writes may not have committed yet.
 */
async function prepareChunk(
  dependencies: SettlementDependencies,
  runId: string,
  chunk: readonly ImportRecord[],
  keysInFlight: ReadonlySet<string>,
): Promise<PreparedChunk> {
  const { sql } = dependencies;
  const wanted = new Map<string, { operation_id: string; kind: string }>();
  for (const { row } of chunk) {
    if (!row || row.type === 'Fee' || row.type === 'MerchantPayout') continue;
    const kind = row.type === 'Refunded' ? 'refund' : 'capture';
    wanted.set(`${kind}:${row.operationId}`, { operation_id: row.operationId, kind });
  }
  // Pipelined, one round trip: the chunk's items, and which of its keys an earlier chunk of the run
  // named (a repeat is a duplicate).
  const [found, named] =
    wanted.size === 0
      ? [[], []]
      : await Promise.all([
          sql<ItemMatch[]>`
            select distinct on (item.operation_id, item.kind) item.id, item.operation_id, item.kind, item.amount,
              item.currency, item.occurred_at, item.acquirer_cost,
              exists (select 1 from settlement.reconciliation_results result
                      where result.item_id = item.id and result.outcome = 'missing_in_report'
                        and result.status = 'open') as missing_open
            from settlement.items item
            join jsonb_to_recordset(${sql.json([...wanted.values()])}) as wanted (operation_id text, kind text)
              on item.operation_id = wanted.operation_id and item.kind = wanted.kind
            order by item.operation_id, item.kind, item.id`,
          sql<{ row_key: string }[]>`
            select row_key from settlement.reconciliation_results
            where run_id = ${runId} and row_key = any(${[...wanted.keys()]}::text[])`,
        ]);
  const seen = new Set(keysInFlight);
  for (const row of named) seen.add(row.row_key);
  return matchChunk(dependencies, runId, chunk, found, seen);
}

/** The rows of a chunk against the items found; `seen` are the keys earlier chunks named. */
function matchChunk(
  dependencies: SettlementDependencies,
  runId: string,
  chunk: readonly ImportRecord[],
  found: readonly ItemMatch[],
  seen: ReadonlySet<string>,
): PreparedChunk {
  const items = new Map<string, ItemMatch>();
  for (const item of found) items.set(`${item.kind}:${item.operation_id}`, item);
  const results: ResultRow[] = [];
  const namedHere = new Set<string>();
  const late: { item_id: string; reason: string }[] = [];
  const days = new Set<string>();
  let skipped = 0;
  for (const { line, row, malformed } of chunk) {
    if (!row) {
      skipped += 1;
      results.push({
        line,
        outcome: 'malformed',
        reference: null,
        itemId: null,
        currency: null,
        expected: null,
        reported: null,
        detail: malformed!.slice(0, 500),
      });
      continue;
    }
    if (row.type === 'Fee' || row.type === 'MerchantPayout') continue;
    if (row.type === 'Chargeback') {
      // The capture charged back, when PayFlow knows it: an adjustment needs its merchant.
      results.push({
        line: row.line,
        outcome: 'chargeback',
        reference: row.merchantReference,
        itemId: items.get(`capture:${row.operationId}`)?.id ?? null,
        currency: row.currency ?? null,
        expected: null,
        reported: row.gross,
        detail: `chargeback ${row.pspReference}`.slice(0, 500),
      });
      continue;
    }
    const key = rowKey(row)!;
    const base = {
      line: row.line,
      reference: row.merchantReference,
      currency: row.currency ?? null,
      reported: row.gross,
    };
    if (seen.has(key) || namedHere.has(key)) {
      results.push({ ...base, outcome: 'duplicate_in_report', itemId: null, expected: null, detail: null });
      continue;
    }
    namedHere.add(key);
    const item = items.get(key);
    if (!item) {
      results.push({
        ...base,
        key,
        outcome: 'unexpected_in_report',
        itemId: null,
        expected: null,
        detail: null,
      });
      continue;
    }
    days.add(item.occurred_at.toISOString().slice(0, 10));
    // An item an earlier report lacked has settled late: that exception is answered (the lookup
    // says which items have one, so a chunk without any sends no update).
    if (item.missing_open)
      late.push({ item_id: item.id, reason: `settled late: report run ${runId}, line ${row.line}` });
    const same = item.amount === row.gross && item.currency === row.currency;
    // What the acquirer kept: PayFlow's expectation (stored at settlement, else its price now).
    const expectedCost = item.acquirer_cost ?? basisPoints(item.amount, dependencies.acquirerCostBps);
    if (
      same &&
      item.kind === 'capture' &&
      row.acquirerCost !== undefined &&
      row.acquirerCost !== expectedCost
    ) {
      results.push({
        ...base,
        key,
        outcome: 'cost_mismatch',
        itemId: item.id,
        expected: expectedCost,
        reported: row.acquirerCost,
        detail: `PayFlow expected the acquirer to keep ${expectedCost} ${item.currency}, the report ${row.acquirerCost}`,
      });
      continue;
    }
    results.push({
      ...base,
      key,
      outcome: same ? 'matched' : 'amount_mismatch',
      itemId: item.id,
      expected: item.amount,
      detail: same
        ? null
        : `PayFlow recorded ${item.amount} ${item.currency}, the report ${row.gross} ${row.currency}`,
    });
  }
  return { records: chunk.length, line: chunk.at(-1)!.line, results, late, days, skipped, keys: namedHere };
}

/** A prepared chunk's writes and the job's checkpoint, in one transaction (one round trip). */
async function writeChunk(
  dependencies: SettlementDependencies,
  transaction: TransactionSql,
  jobId: string,
  runId: string,
  chunk: PreparedChunk,
  before: Checkpoint,
): Promise<Checkpoint> {
  const now = dependencies.clock.now();
  const { results, late } = chunk;
  const checkpoint: Checkpoint = {
    records: before.records + chunk.records,
    line: chunk.line,
    days: [...new Set([...before.days, ...chunk.days])].sort(),
  };
  await Promise.all([
    insertResults(transaction, runId, results),
    late.length > 0 &&
      transaction`
        update settlement.reconciliation_results as result
        set status = 'resolved', resolution = late.reason, resolved_at = ${now}
        from jsonb_to_recordset(${transaction.json(late as never)}) as late (item_id text, reason text)
        where result.item_id = late.item_id and result.outcome = 'missing_in_report' and result.status = 'open'`,
    transaction`
      update settlement.job_runs set chunks_done = chunks_done + 1, items_done = items_done + ${chunk.records},
        read_count = ${checkpoint.records}, write_count = write_count + ${results.length},
        skip_count = skip_count + ${chunk.skipped}, checkpoint = ${transaction.json(checkpoint as never)},
        updated_at = ${now}
      where id = ${jobId}`,
    transaction`update settlement.reconciliation_runs set row_count = ${checkpoint.records} where id = ${runId}`,
  ]);
  return checkpoint;
}

async function insertResults(transaction: TransactionSql, runId: string, results: readonly ResultRow[]) {
  if (results.length === 0) return;
  const rows = results.map((result) => ({
    id: newId('rcx'),
    line: result.line,
    outcome: result.outcome,
    reference: result.reference,
    item_id: result.itemId,
    currency: result.currency,
    expected: result.expected?.toString() ?? null,
    reported: result.reported?.toString() ?? null,
    detail: result.detail,
    status: result.outcome === 'matched' ? 'none' : 'open',
    row_key: result.key ?? null,
  }));
  await transaction`
    insert into settlement.reconciliation_results (id, run_id, line, outcome, reference, item_id, currency,
      expected_amount, reported_amount, detail, status, row_key)
    select row.id, ${runId}, row.line, row.outcome, row.reference, row.item_id, row.currency,
      row.expected::bigint, row.reported::bigint, row.detail, row.status, row.row_key
    from jsonb_to_recordset(${transaction.json(rows)}) as row (id text, line integer, outcome text,
      reference text, item_id text, currency text, expected text, reported text, detail text, status text,
      row_key text)`;
}

const missingPage = 5_000;

/** Step 3: the items nobody named, the counts, the run completed and its event, in one transaction. */
async function finish(
  dependencies: SettlementDependencies,
  transaction: TransactionSql,
  jobId: string,
  runId: string,
  checkpoint: Checkpoint,
  resumedAfterRows: number,
): Promise<ReconciliationRun> {
  const now = dependencies.clock.now();
  for (const day of checkpoint.days) {
    const from = new Date(`${day}T00:00:00.000Z`);
    const to = new Date(from.getTime() + 86_400_000);
    // Page by page (keyset), so a report lacking most of a busy day never loads the day at once; the
    // anti-join asks the run's row keys (its index), the snapshot keeps the pages consistent.
    let after: { occurred_at: Date; id: string } | undefined;
    for (;;) {
      const missing = await transaction<
        {
          id: string;
          operation_id: string;
          kind: string;
          amount: bigint;
          currency: string;
          occurred_at: Date;
        }[]
      >`
        select item.id, item.operation_id, item.kind, item.amount, item.currency, item.occurred_at
        from settlement.items item
        where item.occurred_at >= ${from} and item.occurred_at < ${to}
          ${after ? transaction`and (item.occurred_at, item.id) > (${after.occurred_at}, ${after.id})` : transaction``}
          and not exists (
            select 1 from settlement.reconciliation_results result
            where result.run_id = ${runId} and result.row_key = item.kind || ':' || item.operation_id
              and result.outcome in ('matched', 'amount_mismatch', 'cost_mismatch'))
        order by item.occurred_at, item.id
        limit ${missingPage}`;
      if (missing.length === 0) break;
      after = missing.at(-1)!;
      await insertResults(
        transaction,
        runId,
        missing.map((item) => ({
          line: null,
          outcome: 'missing_in_report',
          reference: item.operation_id,
          itemId: item.id,
          currency: item.currency,
          expected: item.amount,
          reported: null,
          detail: `${item.kind} of ${day} not in the report`,
        })),
      );
      if (missing.length < missingPage) break;
    }
  }
  const counts = emptyCounts();
  const tallied = await transaction<{ outcome: ReconciliationOutcome; count: bigint }[]>`
    select outcome, count(*)::bigint as count from settlement.reconciliation_results
    where run_id = ${runId} group by outcome`;
  for (const { outcome, count } of tallied) counts[outcome] = Number(count);
  const rows = checkpoint.records;
  await transaction`
    update settlement.reconciliation_runs set status = 'completed', row_count = ${rows},
      counts = ${transaction.json(counts)}, report_date = ${checkpoint.days[0] ?? null}
    where id = ${runId}`;
  await dependencies.stage(transaction, {
    type: 'reconciliation.completed.v1',
    aggregateId: runId,
    merchantId: 'platform',
    payload: { runId, rows, ...counts },
    occurredAt: now,
  });
  await finishJobRun(transaction, jobId, { status: 'completed', summary: { runId, rows, counts } }, now);
  return {
    runId,
    jobId,
    alreadyReconciled: false,
    rows,
    counts,
    ...(resumedAfterRows > 0 && { resumedAfterRows }),
  };
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
