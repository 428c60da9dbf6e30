// End-to-end tests start the real PayFlow server on a free port against their own database: either in
// this process (startTestServer) or as a separate `payflow start` process (spawnServer), for tests
// that kill processes or run several of them against one database.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { loadConfiguration } from '../../src/apps/configuration.ts';
import { createLogger } from '../../src/platform/log.ts';
import { startPlatform, type RunningPlatform, type Role } from '../../src/apps/platform.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

export const repositoryRoot = path.resolve(import.meta.dirname, '../..');

export interface TestServer {
  readonly baseUrl: string;
  readonly database: TestDatabase;
  readonly platform: RunningPlatform;
  close(): Promise<void>;
}

export interface TestServerOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly role?: Role;
  readonly database?: TestDatabase;
}

/**
 * The secrets key (ADR 16) every PayFlow process a test file starts uses unless the test passes its
 * own: processes of one database must share it, and each gets a data directory of its own.
 */
export const testSecretsKey = randomBytes(32).toString('hex');

/** Connections per PayFlow process under test, unless a test asks for more. */
export const testPoolMax = '4';

/**
 * The built-in fraud velocity limits (ADR 21) lifted for tests that are not about fraud: many of them
 * authorize one test card far more than 10 times an hour. test/fraud.test.ts sets its own limits.
 */
export const testFraudLimits = {
  FRAUD_CARD_VELOCITY_1H_MAX: '1000000',
  FRAUD_IP_DISTINCT_CARDS_1H_MAX: '1000000',
  FRAUD_CARD_DECLINES_1H_MAX: '1000000',
};

/** A data directory of its own, so nothing a test server generates lands in the working tree. */
export function temporaryDataDir(): string {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'payflow-test-'));
  chmodSync(directory, 0o755); // as root, the embedded PostgreSQL runs as "postgres" and must reach it
  return directory;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const database = options.database ?? (await createTestDatabase());
  const configuration = loadConfiguration({
    PAYFLOW_DATA_DIR: temporaryDataDir(),
    SIMULATOR_PORT: '0', // the in-process acquirer simulator must not collide across parallel tests
    LOG_LEVEL: process.env.PAYFLOW_TEST_LOG_LEVEL ?? 'silent',
    // Two test files run at once against a PostgreSQL with max_connections=100 (the machine's).
    DATABASE_POOL_MAX: testPoolMax,
    PAYFLOW_SECRETS_KEY: testSecretsKey,
    SETTLEMENT_SCHEDULE: 'off', // tests settle by hand
    ...testFraudLimits,
    ...options.env,
    DATABASE_URL: database.url,
    PORT: '0',
    HOST: '127.0.0.1',
  });
  const log = createLogger({ level: configuration.config.logLevel, name: 'payflow-test-server' });
  const platform = await startPlatform({ ...configuration, role: options.role ?? 'all', log });
  return {
    baseUrl: platform.url!,
    database,
    platform,
    async close() {
      await platform.close();
      if (!options.database) await database.drop();
    },
  };
}

export interface SpawnedServer {
  readonly baseUrl: string;
  readonly child: ChildProcess;
  /** Every line the process wrote to stdout and stderr so far. */
  readonly output: string[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs `payflow start` as its own process and resolves once it listens. */
export async function spawnServer(
  env: Readonly<Record<string, string>>,
  args: readonly string[] = [],
  nodeArgs: readonly string[] = [],
): Promise<SpawnedServer> {
  const entry = path.join(repositoryRoot, 'bin/payflow.js');
  const child = spawn(process.execPath, [...nodeArgs, entry, 'start', ...args], {
    cwd: repositoryRoot,
    env: {
      ...process.env,
      PORT: '0',
      SIMULATOR_PORT: '0',
      LOG_LEVEL: 'info',
      PAYFLOW_DATA_DIR: temporaryDataDir(),
      // With REDIS_URL set (CI), spawned servers would otherwise share one rate-limit budget per IP
      // across the whole suite; a test that wants servers to share a bucket passes its own prefix.
      RATE_LIMIT_REDIS_PREFIX: `payflow-test:${randomUUID()}:`,
      DATABASE_POOL_MAX: testPoolMax,
      PAYFLOW_SECRETS_KEY: testSecretsKey,
      SETTLEMENT_SCHEDULE: 'off',
      ...testFraudLimits,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const onLine = (line: string) => {
      output.push(line);
      const match = /"url":"(http[^"]+)".*"msg":"PayFlow is listening"/.exec(line);
      if (match) resolve(match[1]!);
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    void exited.then((code) =>
      reject(new Error(`payflow exited with ${code} before listening:\n${output.join('\n')}`)),
    );
  });
  return {
    baseUrl,
    child,
    output,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs the `payflow` CLI to completion. */
export async function runCli(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [path.join(repositoryRoot, 'bin/payflow.js'), ...args], {
    cwd: repositoryRoot,
    env: {
      ...process.env,
      SIMULATOR_PORT: '0',
      LOG_LEVEL: 'warn',
      PAYFLOW_DATA_DIR: temporaryDataDir(),
      PAYFLOW_SECRETS_KEY: testSecretsKey,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) =>
    child.once('exit', (exitCode) => resolve(exitCode)),
  );
  return { code, stdout, stderr };
}
