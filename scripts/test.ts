// `npm test`: runs every test file against real PostgreSQL. With TEST_DATABASE_URL set it uses that
// server; otherwise it starts one embedded PostgreSQL for the run under .payflow-test/. It builds a
// migrated template database once, and each test file clones its own database from it
// (test/support/database.ts), so files run in parallel without seeing each other's rows.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { freePort } from '../src/platform/ports.ts';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { createLogger } from '../src/platform/log.ts';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/platform/db/embedded.ts';
import { createSql } from '../src/platform/db/client.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { moduleMigrations } from '../src/apps/platform.ts';

const root = path.resolve(import.meta.dirname, '..');
const testFilePattern = /\.test\.ts$/;
const skippedDirectories = new Set(['node_modules', '.git', '.payflow', '.payflow-test', 'web']);

function findTestFiles(directory: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(directory)) {
    if (skippedDirectories.has(entry)) continue;
    const full = path.join(directory, entry);
    if (statSync(full).isDirectory()) found.push(...findTestFiles(full));
    else if (testFilePattern.test(entry)) found.push(path.relative(root, full));
  }
  return found.sort();
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function prepareTemplate(adminUrl: string, templateName: string): Promise<void> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe(`drop database if exists "${templateName}"`);
    await admin.unsafe(`create database "${templateName}" template template0 encoding 'UTF8'`);
  } finally {
    await admin.end();
  }
  const sql = createSql({ url: withDatabase(adminUrl, templateName), maxConnections: 2 });
  try {
    await migrate(sql, moduleMigrations());
  } finally {
    await sql.end();
  }
}

async function dropRunDatabases(adminUrl: string, prefix: string): Promise<void> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  try {
    const rows = await admin<
      { datname: string }[]
    >`select datname from pg_database where datname like ${`${prefix}%`}`;
    for (const row of rows) await admin.unsafe(`drop database if exists "${row.datname}" with (force)`);
  } finally {
    await admin.end();
  }
}

/** Drops the databases of earlier runs whose harness process is gone (killed before its cleanup). */
async function dropAbandonedDatabases(adminUrl: string): Promise<void> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  try {
    const rows = await admin<{ datname: string }[]>`
      select datname from pg_database where datname ~ '^payflow_test_[0-9]+_'`;
    for (const { datname } of rows) {
      const pid = Number(/^payflow_test_([0-9]+)_/.exec(datname)![1]);
      if (pid === process.pid || processAlive(pid)) continue;
      await admin.unsafe(`drop database if exists "${datname}" with (force)`);
    }
  } finally {
    await admin.end();
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs the files with Node's test runner in a process group of its own, so that whatever a test
 * left running (a server it spawned, the brokers of a test file killed at its time limit) is killed
 * with the group when the run ends, and Ctrl-C or SIGTERM reaches all of it.
 */
function runNodeTests(
  files: readonly string[],
  env: NodeJS.ProcessEnv,
  concurrency = Math.max(2, os.availableParallelism()),
): Promise<number> {
  const timeoutMs = Number(process.env.PAYFLOW_TEST_TIMEOUT_MS ?? 420_000);
  const args = [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    // Names the tests a file killed at its time limit had passed and the one it was stuck in.
    `--test-reporter=${path.join(root, 'scripts/test-overrun-reporter.mjs')}`,
    '--test-reporter-destination=stdout',
    `--test-timeout=${timeoutMs}`,
    `--test-concurrency=${concurrency}`,
    ...files,
  ];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: 'inherit', detached: true });
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // the group is empty
      }
    };
    const forward = (signal: NodeJS.Signals) => () => killGroup(signal);
    const onInt = forward('SIGINT');
    const onTerm = forward('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      killGroup('SIGKILL'); // leftovers of tests (servers, workers) die with the run
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

/** A file marked `// payflow-test: run-alone` (its first lines) runs after the others, on its own. */
function runsAlone(file: string): boolean {
  return readFileSync(path.join(root, file), 'utf8').slice(0, 2000).includes('payflow-test: run-alone');
}

/** A unit test file: next to its code under src/, and needs no database (no test support, no SQL). */
const needsDatabase = /support\/(database|server)|createSql|PAYFLOW_TEST_|TEST_DATABASE_URL|startPlatform/;

function isUnit(file: string): boolean {
  return file.startsWith('src/') && !needsDatabase.test(readFileSync(path.join(root, file), 'utf8'));
}

async function main(): Promise<number> {
  const filters = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
  const unitOnly = process.argv.includes('--unit');
  const allFiles = findTestFiles(root).filter((file) => !unitOnly || isUnit(file));
  // A filter naming an existing file outside the usual places (a fixture) runs that file.
  const explicit = filters.filter((filter) => /\.ts$/.test(filter) && existsSync(path.join(root, filter)));
  const files =
    filters.length > 0
      ? [
          ...new Set([
            ...allFiles.filter((file) => filters.some((filter) => file.includes(filter))),
            ...explicit,
          ]),
        ]
      : allFiles;
  if (files.length === 0) {
    process.stderr.write(`no test files match ${filters.join(' ')}\n`);
    return 1;
  }
  // `npm run test:unit`: pure functions only, no PostgreSQL to start, seconds instead of minutes.
  if (unitOnly) return runNodeTests(files, process.env);
  const log = createLogger({ level: 'warn', name: 'payflow-test' });
  let embedded: EmbeddedDatabase | undefined;
  let adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    process.stdout.write(
      'TEST_DATABASE_URL is unset: starting an embedded PostgreSQL for this run (.payflow-test/)\n',
    );
    embedded = await startEmbeddedPostgres({
      dataDir: path.join(root, '.payflow-test'),
      port: await freePort(),
      log,
      mode: 'exclusive',
      databaseName: 'postgres',
    });
    adminUrl = embedded.url;
  }
  await dropAbandonedDatabases(adminUrl).catch((error: unknown) =>
    process.stderr.write(`cleanup of earlier runs: ${String(error)}\n`),
  );
  const prefix = `payflow_test_${process.pid}_`;
  const templateName = `${prefix}template`;
  try {
    await prepareTemplate(adminUrl, templateName);
    const env = {
      ...process.env,
      PAYFLOW_TEST_ADMIN_URL: adminUrl,
      PAYFLOW_TEST_TEMPLATE: templateName,
      PAYFLOW_TEST_PREFIX: prefix,
    };
    // Files that start clusters of their own and kill parts of them (a three-broker Kafka, several
    // PayFlow processes) run after the others, one at a time, so their timings are not those of a
    // box also running the rest of the suite; each in a run (a process group) of its own, so what a
    // file killed at its time limit left running dies before the next file starts.
    const alone = files.filter((file) => runsAlone(file));
    const together = files.filter((file) => !runsAlone(file));
    let code = together.length > 0 ? await runNodeTests(together, env) : 0;
    for (const file of alone) code = Math.max(code, await runNodeTests([file], env, 1));
    return code;
  } finally {
    await dropRunDatabases(adminUrl, prefix).catch((error: unknown) =>
      process.stderr.write(`cleanup: ${String(error)}\n`),
    );
    await embedded?.stop();
  }
}

process.exitCode = await main();
