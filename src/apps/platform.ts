// Starting and stopping a PayFlow process: configuration (validated by loadConfiguration) → database (embedded or DATABASE_URL) →
// migrations → modules → HTTP server and/or background jobs, and the reverse order on stop.
import { simulatorStarts, startAcquirer } from './acquirer.ts';
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { portTaken } from '../platform/ports.ts';
import type { Config } from '../platform/config.ts';
import { createSql, assertReachable, describeError, type Sql } from '../platform/db/client.ts';
import { startEmbeddedPostgres, StartupError } from '../platform/db/embedded.ts';
import { loadMigrations, migrate, pendingMigrations, type Migration } from '../platform/db/migrate.ts';
import { createHttpApp } from '../platform/http/app.ts';
import { registerHealthRoutes } from '../platform/http/health.ts';
import { startJobs, type JobRunner } from '../platform/jobs.ts';
import { addRedactPaths, createLogger, createProcessOutputLogger, type Logger } from '../platform/log.ts';
import { systemClock, type Clock } from '../platform/clock.ts';
import type { ModuleFaces, ModuleRuntime, PlatformContext } from '../platform/module.ts';
import { createMetricsRegistry } from '../platform/metrics.ts';
import { initTracing } from '../platform/tracing.ts';
import type { EventsFace } from '../modules/events/index.ts';
import { registerEventBusGauges } from './event-bus-metrics.ts';
import type { Configuration } from './configuration.ts';
import { manifests, modules } from './modules.ts';

export const roles = ['all', 'api', 'worker', 'vault'] as const;
export type Role = (typeof roles)[number];

/** The modules a `--role vault` process runs: identity (to verify tokens) and the vault itself. */
const vaultRoleModules: readonly string[] = ['identity', 'vault'];

export const packageVersion: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export function moduleMigrations(): Migration[] {
  return loadMigrations(
    manifests().flatMap((manifest) =>
      manifest.migrationsDirectory
        ? [{ module: manifest.name, directory: manifest.migrationsDirectory }]
        : [],
    ),
  );
}

/**
 * The process's logger. A server (`payflow start`) writes its lines asynchronously (`buffered`, see
 * createProcessOutputLogger); a CLI command writes each line at once, in order with what it prints.
 */
export function createProcessLogger(
  config: Config,
  name = 'payflow',
  output: 'buffered' | 'direct' = 'direct',
): Logger {
  for (const manifest of manifests()) addRedactPaths(manifest.redactPaths ?? []);
  return output === 'buffered'
    ? createProcessOutputLogger({ level: config.logLevel, name })
    : createLogger({ level: config.logLevel, name });
}

export interface OpenDatabase {
  readonly url: string;
  readonly sql: Sql;
  close(): Promise<void>;
}

/** Opens DATABASE_URL, or starts (server) / attaches to (CLI) the embedded PostgreSQL. */
export async function openDatabase(
  config: Config,
  log: Logger,
  mode: 'exclusive' | 'shared',
): Promise<OpenDatabase> {
  const embedded = config.databaseUrl
    ? undefined
    : await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPostgresPort, log, mode });
  const url = config.databaseUrl ?? embedded!.url;
  const sql = createSql({ url, maxConnections: config.databasePoolMax });
  try {
    await assertReachable(sql, url);
  } catch (error) {
    await sql.end({ timeout: 1 }).catch(() => undefined);
    await embedded?.stop();
    throw new StartupError(describeError(error));
  }
  return {
    url,
    sql,
    async close() {
      await sql.end({ timeout: 5 });
      await embedded?.stop();
    },
  };
}

export interface RunningPlatform {
  /** Base URL of the HTTP API, when the role serves HTTP. */
  readonly url: string | undefined;
  readonly context: PlatformContext;
  close(): Promise<void>;
}

export interface StartOptions extends Configuration {
  readonly role: Role;
  readonly log?: Logger;
  readonly clock?: Clock;
}

async function createModules(context: PlatformContext): Promise<ModuleRuntime[]> {
  const faces: ModuleFaces = {};
  const runtimes: ModuleRuntime[] = [];
  try {
    for (const definition of modules) {
      if (!definition.create) continue;
      if (context.role === 'vault' && !vaultRoleModules.includes(definition.manifest.name)) continue;
      const runtime = await definition.create(context, faces);
      faces[definition.manifest.name] = runtime.face;
      runtimes.push(runtime);
    }
    const events = faces['events'] as EventsFace | undefined;
    if (events) registerEventBusGauges(context, events);
  } catch (error) {
    // A module that failed to start must not leave earlier ones holding connections open.
    for (const runtime of runtimes.reverse()) await runtime.close?.().catch(() => undefined);
    throw error;
  }
  return runtimes;
}

/** HTTPS material from TLS_CERT_FILE and TLS_KEY_FILE (both or neither), read once at start. */
function tlsOptions(config: Config): { https?: { key: Buffer; cert: Buffer } } {
  if (!config.tlsCertFile && !config.tlsKeyFile) return {};
  if (!config.tlsCertFile || !config.tlsKeyFile)
    throw new StartupError('TLS_CERT_FILE and TLS_KEY_FILE must be set together');
  const read = (file: string, variable: string) => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new StartupError(`cannot read ${variable} ${file}: ${describeError(error)}`);
    }
  };
  return {
    https: { cert: read(config.tlsCertFile, 'TLS_CERT_FILE'), key: read(config.tlsKeyFile, 'TLS_KEY_FILE') },
  };
}

async function listen(app: Awaited<ReturnType<typeof createHttpApp>>, config: Config): Promise<string> {
  try {
    return await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new StartupError(
        `port ${config.port} on ${config.host} is already in use; stop what uses it or set PORT`,
      );
    }
    throw new StartupError(`cannot listen on ${config.host}:${config.port}: ${describeError(error)}`);
  }
}

/**
 * The fixed ports this start will bind, checked before any side effect (the embedded database's
 * folder, a demo merchant, generated keys), so that a busy port costs one line and leaves nothing
 * behind. Port 0 (a free port) needs no check; a cluster worker shares its primary's port.
 */
async function assertPortsFree(config: Config, role: Role): Promise<void> {
  if (!cluster.isPrimary) return;
  if (role !== 'worker' && config.port !== 0 && (await portTaken(config.host, config.port)))
    throw new StartupError(
      `port ${config.port} on ${config.host} is already in use; stop what uses it or set PORT`,
    );
  if (
    simulatorStarts(config, role) &&
    config.simulatorPort !== 0 &&
    (await portTaken('127.0.0.1', config.simulatorPort))
  )
    throw new StartupError(
      `SIMULATOR_PORT ${config.simulatorPort} is already in use; unset it (a free port is picked) or choose another`,
    );
}

export async function startPlatform(options: StartOptions): Promise<RunningPlatform> {
  const { config, role } = options;
  await assertPortsFree(config, role);
  const log = options.log ?? createProcessLogger(config);
  // Before the database opens: its client is wrapped for SQL spans only when tracing is on.
  const stopTracing = await initTracing(config);
  const database = await openDatabase(config, log, 'exclusive').catch(async (error: unknown) => {
    await stopTracing();
    throw error;
  });
  const cleanups: (() => Promise<void>)[] = [stopTracing, () => database.close()];
  const closeAll = async () => {
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((error: unknown) => log.error({ err: error }, 'stop step failed'));
  };
  try {
    const migrations = moduleMigrations();
    if (config.migrateOnStart) {
      const applied = await migrate(database.sql, migrations);
      if (applied.length > 0) log.info({ applied }, 'migrations applied');
    }
    const acquirer = await startAcquirer(config, role, log);
    if (acquirer) cleanups.push(() => acquirer.close());
    const context: PlatformContext = {
      config,
      settings: options.settings,
      sql: database.sql,
      log,
      clock: options.clock ?? systemClock,
      role,
      metrics: createMetricsRegistry(),
      ...(acquirer && { acquirer: acquirer.endpoint }),
    };
    const runtimes = await createModules(context);
    cleanups.push(async () => {
      for (const runtime of runtimes) await runtime.close?.();
    });
    let jobs: JobRunner | undefined;
    // A vault process runs the vault's own jobs (CVC purge); with VAULT_URL the others have none.
    const ownRuntimes = role === 'vault' ? runtimes.filter((runtime) => runtime.name === 'vault') : runtimes;
    if (role === 'all' || role === 'worker' || role === 'vault') {
      jobs = startJobs(
        ownRuntimes.flatMap((runtime) => runtime.jobs ?? []),
        log,
        context.metrics,
      );
      cleanups.push(() => jobs!.stop());
    }
    let url: string | undefined;
    if (role === 'all' || role === 'api' || role === 'vault') {
      const app = await createHttpApp({
        log,
        bodyLimitBytes: config.bodyLimitBytes,
        version: packageVersion,
        ...(config.publicBaseUrl ? { publicBaseUrl: config.publicBaseUrl } : {}),
        ...tlsOptions(config),
        trustProxy: config.trustProxy,
        versionedApi: true,
      });
      registerHealthRoutes(app, async () => {
        await database.sql`select 1`;
        const pending = await pendingMigrations(database.sql, migrations);
        return pending.length === 0 ? undefined : `${pending.length} migration(s) not applied`;
      });
      // A vault process serves health and the vault's routes only.
      for (const runtime of role === 'vault' ? ownRuntimes : runtimes) await runtime.registerRoutes?.(app);
      cleanups.push(() => app.close());
      url = await listen(app, config);
      log.info({ url, role }, 'PayFlow is listening');
    }
    if (url === undefined) log.info({ role }, 'PayFlow jobs are running');
    return { url, context, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
