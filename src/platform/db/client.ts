// PostgreSQL access through postgres.js tagged templates. int8 columns come back as bigint so money
// never passes through a float.
import postgres from 'postgres';
import { SpanKind, tracingEnabled, withSpan } from '../tracing.ts';

export type Sql = postgres.Sql<{ bigint: bigint }>;
export type TransactionSql = postgres.TransactionSql<{ bigint: bigint }>;
/** Either the pool or an open transaction: repositories accept both. */
export type Queryable = Sql | TransactionSql;

export interface DatabaseOptions {
  readonly url: string;
  readonly maxConnections: number;
  readonly applicationName?: string;
  readonly connectTimeoutSeconds?: number;
}

export function createSql(options: DatabaseOptions): Sql {
  return traceSql(createRawSql(options));
}

function createRawSql(options: DatabaseOptions): Sql {
  return postgres(options.url, {
    max: options.maxConnections,
    connect_timeout: options.connectTimeoutSeconds ?? 10,
    idle_timeout: 60,
    // postgres.js waits up to 20 s between reconnection attempts by default; a database back after
    // an outage should be used within a second (ADR 25).
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
    onnotice: () => undefined,
    connection: { application_name: options.applicationName ?? 'payflow' },
    types: {
      bigint: {
        to: 20,
        from: [20],
        serialize: (value: bigint) => value.toString(),
        parse: (value: string) => BigInt(value),
      },
    },
  }) as unknown as Sql;
}

/** The URL with its password masked, for messages. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable database URL)';
  }
}

/** Fails with one readable line if the database cannot be reached. */
export async function assertReachable(sql: Sql, url: string): Promise<void> {
  try {
    await sql`select 1`;
  } catch (error) {
    throw new Error(`cannot reach the database at ${redactDatabaseUrl(url)}: ${describeError(error)}`);
  }
}

const unavailableCodes = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  // admin_shutdown, crash_shutdown, cannot_connect_now
  '57P01',
  '57P02',
  '57P03',
]);

/**
 * True when the error says the database cannot be reached right now (connection refused, reset or
 * closed, the server shutting down or starting): the request may succeed if retried, so the API
 * answers 503 with Retry-After rather than 500 (ADR 25).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof AggregateError) return error.errors.some((inner) => isDatabaseUnavailable(inner));
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return false;
  // SQLSTATE class 08: connection exceptions.
  return unavailableCodes.has(code) || /^08[0-9A-Z]{3}$/.test(code);
}

export function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describeError(error.errors[0]);
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && !error.message.includes(code)
      ? `${error.message} (${code})`
      : error.message;
  }
  return String(error);
}

/**
 * With tracing on (ADR 23), the client whose every awaited query is a `db` span (statement text
 * only, never parameters) under the active span; transactions and savepoints hand out wrapped
 * clients too (as do reserved connections). postgres.js has no instrumentation of its own, and this is the one client.
 */
export function traceSql<T extends object>(sql: T): T {
  if (!tracingEnabled()) return sql;
  return new Proxy(sql, {
    apply(target, thisArgument, args: unknown[]) {
      const query = Reflect.apply(target as (...a: unknown[]) => unknown, thisArgument, args);
      const strings = args[0];
      if (Array.isArray(strings) && 'raw' in strings) traceQuery(query, (strings as string[]).join('$?'));
      return query;
    },
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (property === 'begin' || property === 'savepoint') {
        return (...args: unknown[]) => {
          const callback = args[args.length - 1] as (transaction: object) => unknown;
          const rest = args.slice(0, -1);
          return withSpan(
            property === 'begin' ? 'db transaction' : 'db savepoint',
            { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql' } },
            () =>
              (value as (...a: unknown[]) => Promise<unknown>).call(target, ...rest, (transaction: object) =>
                callback(traceSql(transaction)),
              ),
          );
        };
      }
      if (property === 'reserve') {
        return async (...args: unknown[]) =>
          traceSql((await (value as (...a: unknown[]) => Promise<object>).apply(target, args)) as object);
      }
      if (property === 'unsafe') {
        return (...args: unknown[]) => {
          const query = (value as (...a: unknown[]) => unknown).apply(target, args);
          traceQuery(query, String(args[0]));
          return query;
        };
      }
      return value;
    },
  });
}

/** Starts the query's span when it is awaited (postgres.js runs a query on its first `then`). */
function traceQuery(query: unknown, statement: string): void {
  if (query === null || typeof query !== 'object' || typeof (query as Promise<unknown>).then !== 'function')
    return;
  const pending = query as Promise<unknown>;
  const then = pending.then.bind(pending);
  let traced: Promise<unknown> | undefined;
  Object.defineProperty(pending, 'then', {
    configurable: true,
    value: (onFulfilled?: (value: unknown) => unknown, onRejected?: (reason: unknown) => unknown) => {
      traced ??= withSpan(
        `db ${statement.trim().split(/\s+/, 1)[0]?.toLowerCase() ?? 'query'}`,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'db.system': 'postgresql',
            'db.statement': statement.replace(/\s+/g, ' ').trim().slice(0, 500),
          },
        },
        () => new Promise((resolve, reject) => then(resolve, reject)),
      );
      return traced.then(onFulfilled, onRejected);
    },
  });
}
