// Idempotency-Key for every state-changing endpoint (spec §6; as Stripe documents it:
// https://docs.stripe.com/api/idempotent_requests): header
// parsing, the canonical request fingerprint, the single-transaction flow for endpoints whose work is
// one transaction, and the reaper. The platform owns no table: each module keeps its keys in its own
// schema (columns as payments.idempotency_keys) and names that table here. Payments, whose work spans
// two transactions around the acquirer call, keeps its own multi-phase claim (ADR 9) on the same parts.
import { createHash, createHmac } from 'node:crypto';
import type { Job } from './module.ts';
import type { Logger } from './log.ts';
import type { Queryable, Sql, TransactionSql } from './db/client.ts';
import type { FastifyReply } from 'fastify';
import { DomainError, problemContentType } from './errors.ts';

export const idempotencyKeyLengthMax = 255;
/** How long a second request with the same key waits for the first one's row before 409 in use. */
export const keyLockWaitMs = 2_000;
export const keyRetryAfterSeconds = 1;
export const reaperBatchMax = 1_000;
export const reaperIntervalMs = 60_000;

/** What an endpoint answered: the status and the exact bytes, replayed byte for byte. */
export interface IdempotentAnswer {
  readonly status: number;
  readonly body: string;
}

/** A `schema.table` with the idempotency key columns (see the modules' migrations). */
export type KeyTable = `${string}.idempotency_keys`;

const keyTableShape = /^[a-z_]+\.idempotency_keys$/;

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * SHA-256 of method, path and the body in canonical form (key order does not matter), as 64 hex
 * characters. With `hmacKey`, HMAC-SHA256 under it instead: for bodies holding card data, whose
 * plain hash could be reversed by enumeration (PCI DSS 3.5.1).
 */
export function requestFingerprint(method: string, path: string, body: unknown, hmacKey?: Buffer): string {
  const text = `${method.toUpperCase()} ${path}\n${canonicalJson(body ?? null)}`;
  const hash = hmacKey === undefined ? createHash('sha256') : createHmac('sha256', hmacKey);
  return hash.update(text).digest('hex');
}

function headerValue(header: string | string[] | undefined): string | undefined {
  return Array.isArray(header) ? header[0] : header;
}

function checkedKey(key: string): string {
  if (key.length > idempotencyKeyLengthMax || !/^[\x21-\x7e]+$/.test(key)) {
    throw new DomainError(
      'idempotency_key_invalid',
      400,
      `An Idempotency-Key is 1 to ${idempotencyKeyLengthMax} visible ASCII characters.`,
    );
  }
  return key;
}

/** The key of an endpoint that needs one: absent or blank is 400 idempotency_key_required. */
export function requireIdempotencyKey(header: string | string[] | undefined): string {
  const key = headerValue(header);
  if (key === undefined || key.trim() === '') {
    throw new DomainError('idempotency_key_required', 400, 'Send an Idempotency-Key header with every POST.');
  }
  return checkedKey(key);
}

/** The key of an endpoint where it is optional: undefined when absent; a malformed one is still 400. */
export function optionalIdempotencyKey(header: string | string[] | undefined): string | undefined {
  const key = headerValue(header);
  return key === undefined ? undefined : checkedKey(key);
}

export interface KeyedRequest {
  readonly table: KeyTable;
  readonly merchantId: string;
  /** Undefined: no key was sent, the work just runs in its transaction and nothing is stored. */
  readonly key: string | undefined;
  /** Names the endpoint (e.g. `create_endpoint`); the table's CHECK lists the module's operations. */
  readonly operation: string;
  readonly fingerprint: string;
  readonly now: Date;
}

/** What the work returns: its answer, what to store if that differs (secrets left out), the resource. */
export interface WorkResult {
  readonly answer: IdempotentAnswer;
  readonly stored?: IdempotentAnswer;
  readonly resourceId?: string;
}

export interface IdempotentOptions {
  /** Turns a stored answer back into the reply (e.g. puts a secret back); runs in the transaction. */
  readonly replay?: (transaction: TransactionSql, stored: IdempotentAnswer) => Promise<IdempotentAnswer>;
}

interface StoredKeyRow {
  operation: string;
  request_fingerprint: string;
  recovery_point: string;
  response_status: number | null;
  response_body: string | null;
}

function isLockTimeout(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '55P03';
}

function keyInUse(): DomainError {
  return new DomainError(
    'idempotency_key_in_use',
    409,
    'A request with this Idempotency-Key is still being processed; retry later.',
    {},
    { 'retry-after': String(keyRetryAfterSeconds) },
  );
}

/**
 * Inserts the key (locked by this transaction until it commits) or reads the finished one. A second
 * request with the same key waits on the first one's uncommitted row at most `keyLockWaitMs`.
 */
async function claim(transaction: TransactionSql, request: KeyedRequest & { key: string }) {
  const table = transaction(request.table);
  await transaction.unsafe(`set local lock_timeout = ${keyLockWaitMs}`);
  let row: StoredKeyRow | undefined;
  try {
    const inserted = await transaction`
      insert into ${table} (merchant_id, idempotency_key, operation, request_fingerprint, locked_at,
        recovery_point, created_at, updated_at)
      values (${request.merchantId}, ${request.key}, ${request.operation}, ${request.fingerprint},
        ${request.now}, 'started', ${request.now}, ${request.now})
      on conflict (merchant_id, idempotency_key) do nothing
      returning 1`;
    if (inserted.length === 0) {
      [row] = await transaction<StoredKeyRow[]>`
        select operation, request_fingerprint, recovery_point, response_status, response_body from ${table}
        where merchant_id = ${request.merchantId} and idempotency_key = ${request.key} for update`;
    }
  } catch (error) {
    // The transaction is aborted and rolls back: nothing to reset.
    if (isLockTimeout(error)) throw keyInUse();
    throw error;
  }
  // The work's own locks wait as long as they always did.
  await transaction.unsafe('set local lock_timeout to default');
  return row;
}

/**
 * Runs `work` in one transaction with the key: a finished key with the same request replays its
 * stored answer (`replayed`), another request under the key is 409 idempotency_key_reused, a key
 * whose first request has not committed is 409 idempotency_key_in_use with Retry-After. A new key is
 * stored with the work's answer in the work's own transaction. A DomainError from the work rolls the
 * key back with everything else (ADR 9: refusals are not stored; a retry re-evaluates them).
 */
export async function runIdempotent(
  sql: Sql,
  request: KeyedRequest,
  work: (transaction: TransactionSql) => Promise<WorkResult>,
  options: IdempotentOptions = {},
): Promise<{ readonly answer: IdempotentAnswer; readonly replayed: boolean }> {
  if (!keyTableShape.test(request.table)) throw new TypeError(`not a key table: ${request.table}`);
  const key = request.key;
  if (key === undefined) {
    return sql.begin(async (transaction) => ({ answer: (await work(transaction)).answer, replayed: false }));
  }
  return sql.begin(async (transaction) => {
    const existing = await claim(transaction, { ...request, key });
    if (existing) return { answer: await replayOf(transaction, request, existing, options), replayed: true };
    const result = await work(transaction);
    const stored = result.stored ?? result.answer;
    await transaction`
        update ${transaction(request.table)}
        set recovery_point = 'finished', resource_id = ${result.resourceId ?? null},
          response_status = ${stored.status}, response_body = ${stored.body}, locked_at = null,
          updated_at = ${request.now}, finished_at = ${request.now}
        where merchant_id = ${request.merchantId} and idempotency_key = ${key}`;
    return { answer: result.answer, replayed: false };
  });
}

async function replayOf(
  transaction: TransactionSql,
  request: KeyedRequest,
  existing: StoredKeyRow,
  options: IdempotentOptions,
): Promise<IdempotentAnswer> {
  if (existing.request_fingerprint !== request.fingerprint || existing.operation !== request.operation) {
    throw new DomainError(
      'idempotency_key_reused',
      409,
      'This Idempotency-Key was used with a different request; use a new key for a new request.',
    );
  }
  // Single-transaction keys commit finished or not at all.
  if (
    existing.recovery_point !== 'finished' ||
    existing.response_status === null ||
    existing.response_body === null
  )
    throw new Error(`an unfinished key in ${request.table}`);
  const stored = { status: existing.response_status, body: existing.response_body };
  return options.replay ? options.replay(transaction, stored) : stored;
}

/** Deletes finished keys that finished before `before`, at most `limit`; returns how many. */
export async function deleteFinishedKeysBefore(
  sql: Queryable,
  table: KeyTable,
  before: Date,
  limit: number = reaperBatchMax,
): Promise<number> {
  if (!keyTableShape.test(table)) throw new TypeError(`not a key table: ${table}`);
  const result = await sql`
    delete from ${sql(table)}
    where (merchant_id, idempotency_key) in (
      select merchant_id, idempotency_key from ${sql(table)}
      where recovery_point = 'finished' and finished_at < ${before}
      limit ${limit})`;
  return result.count;
}

/** The module's reaper job: finished keys older than IDEMPOTENCY_KEY_RETENTION_HOURS are deleted. */
export function keyReaperJob(options: {
  readonly name: string;
  readonly sql: Sql;
  readonly table: KeyTable;
  readonly retentionHours: number;
  readonly now: () => Date;
  readonly log: Logger;
  readonly intervalMs?: number;
}): Job {
  return {
    name: options.name,
    intervalMs: options.intervalMs ?? reaperIntervalMs,
    async run() {
      const before = new Date(options.now().getTime() - options.retentionHours * 3_600_000);
      const deleted = await deleteFinishedKeysBefore(options.sql, options.table, before);
      if (deleted > 0)
        options.log.info({ deleted, table: options.table }, 'reaped finished idempotency keys');
    },
  };
}

/** The fingerprint of an HTTP request: method, path without the query, parsed body. */
export function fingerprintOfRequest(
  request: { readonly method: string; readonly url: string; readonly body: unknown },
  hmacKey?: Buffer,
): string {
  return requestFingerprint(request.method, request.url.split('?')[0] ?? '', request.body, hmacKey);
}

/** Sends an answer's exact bytes; a replay says so with `Idempotent-Replayed: true` (as Stripe). */
export function sendAnswer(
  reply: FastifyReply,
  result: { readonly answer: IdempotentAnswer; readonly replayed: boolean },
): FastifyReply {
  const { answer, replayed } = result;
  reply.code(answer.status);
  if (answer.body !== '')
    reply.header(
      'content-type',
      answer.status >= 400 ? problemContentType : 'application/json; charset=utf-8',
    );
  if (replayed) reply.header('idempotent-replayed', 'true');
  return reply.send(answer.body);
}
