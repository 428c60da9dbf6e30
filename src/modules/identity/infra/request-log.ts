// The recent API requests of each merchant (ADR 32), recorded off the request path: `record` only
// pushes to an in-memory buffer; a timer writes the buffer as one INSERT every second (and at
// close), then trims each merchant it wrote for to its newest `requestLogKeptPerMerchant` rows.
// The buffer is bounded: past `pendingMax` entries waiting, new ones are dropped and counted (a
// database outage must not grow the heap). No body, query string or header is ever kept, and
// anything shaped like a card number in the path is masked.
import type { Sql } from '../../../platform/db/client.ts';
import { maskCardNumbers, type Logger } from '../../../platform/log.ts';

export const requestLogKeptPerMerchant = 200;
const flushIntervalMs = 1_000;
const pendingMax = 10_000;
const pathLengthMax = 300;

export interface RequestLogEntry {
  readonly merchantId: string;
  readonly clientId: string;
  readonly method: string;
  /** The path without its query string (search terms such as emails stay out). */
  readonly path: string;
  readonly status: number;
  readonly durationMs: number;
  readonly requestId: string;
  readonly at: Date;
}

export class RequestLog {
  private pending: RequestLogEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  /** Entries dropped because the buffer was full. */
  dropped = 0;

  constructor(
    private readonly sql: Sql,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), flushIntervalMs);
    this.timer.unref();
  }

  record(entry: RequestLogEntry): void {
    if (this.pending.length >= pendingMax) {
      this.dropped += 1;
      return;
    }
    const queryAt = entry.path.indexOf('?');
    // A merchant may paste a card number into a path (`GET /v1/tokens/4242…`): masked as the logs are.
    const path =
      maskCardNumbers(queryAt < 0 ? entry.path : entry.path.slice(0, queryAt)).slice(0, pathLengthMax) || '/';
    this.pending.push({ ...entry, path, durationMs: Math.max(0, Math.round(entry.durationMs)) });
  }

  /** Writes what is buffered (one statement) and trims the merchants written for. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const batch = this.pending;
      if (batch.length === 0) return;
      this.pending = [];
      try {
        const rows = batch.map((entry) => ({
          merchant_id: entry.merchantId,
          client_id: entry.clientId.slice(0, 100),
          method: entry.method,
          path: entry.path,
          status: entry.status,
          duration_ms: entry.durationMs,
          request_id: entry.requestId.slice(0, 200),
          at: entry.at.toISOString(),
        }));
        await this.sql`
          insert into identity.request_log (merchant_id, client_id, method, path, status, duration_ms, request_id, at)
          select merchant_id, client_id, method, path, status, duration_ms, request_id, at
          from jsonb_to_recordset(${this.sql.json(rows as never)}) as entry(
            merchant_id text, client_id text, method text, path text, status integer, duration_ms integer,
            request_id text, at timestamptz)`;
        const merchants = [...new Set(batch.map((entry) => entry.merchantId))];
        await this.sql`
          delete from identity.request_log old
          using (
            select merchant.id as merchant_id, (
              select id from identity.request_log newest where newest.merchant_id = merchant.id
              order by id desc offset ${requestLogKeptPerMerchant - 1} limit 1) as oldest_kept
            from jsonb_array_elements_text(${this.sql.json(merchants)}) as merchant(id)
          ) bound
          where old.merchant_id = bound.merchant_id and old.id < bound.oldest_kept`;
      } catch (error) {
        // Lost, not retried: the log is a convenience, and a retry loop would grow the buffer.
        this.log.warn({ err: error, entries: batch.length }, 'request log batch not written');
      }
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}

export interface LoggedRequest {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly durationMs: number;
  readonly requestId: string;
  readonly clientId: string;
  readonly at: Date;
}

/** The merchant's newest requests first (at most `limit`). */
export async function recentRequests(sql: Sql, merchantId: string, limit: number): Promise<LoggedRequest[]> {
  const rows = await sql<
    {
      method: string;
      path: string;
      status: number;
      duration_ms: number;
      request_id: string;
      client_id: string;
      at: Date;
    }[]
  >`
    select method, path, status, duration_ms, request_id, client_id, at from identity.request_log
    where merchant_id = ${merchantId} order by id desc limit ${limit}`;
  return rows.map((row) => ({
    method: row.method,
    path: row.path,
    status: row.status,
    durationMs: row.duration_ms,
    requestId: row.request_id,
    clientId: row.client_id,
    at: row.at,
  }));
}
