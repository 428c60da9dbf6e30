// PostgreSQL access through postgres.js tagged templates. int8 columns come back as bigint so money
// never passes through a float.
import postgres from 'postgres';

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
  return postgres(options.url, {
    max: options.maxConnections,
    connect_timeout: options.connectTimeoutSeconds ?? 10,
    idle_timeout: 60,
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
