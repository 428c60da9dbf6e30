// The `payflow` command line; `npm start` runs `payflow start` (with WEBHOOK_ALLOW_PRIVATE=true unless set). Expected failures (bad configuration,
// unreachable database, port in use, a failed migration) print one line (a bad configuration: one per
// bad variable) and exit non-zero.
import { parseArgs } from 'node:util';
import { ConfigError, ConfigurationError } from '../platform/settings.ts';
import { loadConfiguration, type Configuration } from './configuration.ts';
import { StartupError } from '../platform/db/embedded.ts';
import { DomainError } from '../platform/errors.ts';
import { MigrationError, migrate } from '../platform/db/migrate.ts';
import type { CliCommand } from '../platform/module.ts';
import { systemClock } from '../platform/clock.ts';
import { createSecretsRotateKeyCommand } from '../platform/secrets-rotation.ts';
import { manifests } from './modules.ts';
import {
  createProcessLogger,
  moduleMigrations,
  openDatabase,
  packageVersion,
  roles,
  startPlatform,
  type Role,
} from './platform.ts';
import { superviseWorkers } from './worker-supervisor.ts';
import { webhooksListenCommand } from './webhook-receiver.ts';

const builtInCommands: readonly CliCommand[] = [
  {
    path: ['start'],
    summary: 'Start PayFlow (HTTP API and background jobs).',
    usage: 'payflow start [--role all|api|worker|vault] [--workers N]',
    needsDatabase: false,
    run: (args, context) => runStart(args, context),
  },
  {
    path: ['migrate'],
    summary: 'Apply pending database migrations and exit.',
    needsDatabase: true,
    async run(_args, context) {
      const applied = await migrate(context.sql, moduleMigrations());
      context.print(
        applied.length === 0 ? 'migrations: up to date' : `migrations applied: ${applied.join(', ')}`,
      );
    },
  },
  createSecretsRotateKeyCommand(() => manifests().flatMap((manifest) => manifest.sealedColumns ?? [])),
  webhooksListenCommand,
];

function allCommands(): CliCommand[] {
  return [...builtInCommands, ...manifests().flatMap((manifest) => manifest.commands ?? [])];
}

function helpText(): string {
  const lines = allCommands().map(
    (command) => `  ${(command.usage ?? `payflow ${command.path.join(' ')}`).padEnd(48)} ${command.summary}`,
  );
  return [
    `PayFlow ${packageVersion}: a self-hostable payments core.`,
    '',
    'Usage: payflow <command> [options]',
    '',
    'Commands:',
    ...lines,
    `  ${'payflow help'.padEnd(48)} Show this help.`,
    '',
    'Configuration comes from environment variables; see the README.',
  ].join('\n');
}

function parseStart(args: readonly string[]): { role: Role; workers: number } {
  const { values } = parseArgs({
    args: [...args],
    options: { role: { type: 'string', default: 'all' }, workers: { type: 'string', default: '0' } },
    strict: true,
  });
  const role = values.role as Role;
  if (!roles.includes(role)) throw new UsageError(`--role must be one of ${roles.join(', ')}`);
  if (!/^\d{1,2}$/.test(values.workers)) throw new UsageError('--workers must be a number from 0 to 99');
  const workers = Number(values.workers);
  if (workers > 0 && role === 'vault') throw new UsageError('--workers does not go with --role vault');
  return { role, workers };
}

class UsageError extends Error {}

async function runStart(args: readonly string[], configuration: Configuration): Promise<number> {
  const { config } = configuration;
  const { role, workers } = parseStart(args);
  if (workers > 0 && !config.databaseUrl)
    throw new StartupError('--workers needs DATABASE_URL: the embedded PostgreSQL serves one process only');
  const log = createProcessLogger(config, 'payflow', 'buffered');
  const platform = await startPlatform({ ...configuration, role, log });
  // Started once this process runs (migrations applied), stopped before it closes.
  const supervisor = workers > 0 ? superviseWorkers(workers, log) : undefined;
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      log.info({ signal }, 'stopping');
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      process.once('SIGINT', () => process.exit(130)); // a second Ctrl-C does not wait
      const timer = setTimeout(() => {
        log.error('stop timed out; exiting');
        process.exit(1);
      }, config.shutdownTimeoutMs);
      timer.unref();
      void (supervisor?.stop() ?? Promise.resolve()).then(() => platform.close()).then(resolve, resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  log.info('stopped');
  return 0;
}

function findCommand(argv: readonly string[]): { command: CliCommand; args: string[] } | undefined {
  const candidates = allCommands().sort((a, b) => b.path.length - a.path.length);
  for (const command of candidates) {
    if (command.path.every((word, index) => argv[index] === word))
      return { command, args: argv.slice(command.path.length) };
  }
  return undefined;
}

async function runCommand(
  command: CliCommand,
  args: string[],
  configuration: Configuration,
): Promise<number> {
  const { config, settings } = configuration;
  if (!command.needsDatabase) {
    const result = await command.run(args, undefined as never);
    return typeof result === 'number' ? result : 0;
  }
  const log = createProcessLogger(config, 'payflow-cli');
  const database = await openDatabase(config, log.child({}, { level: 'warn' }), 'shared');
  try {
    await migrate(database.sql, moduleMigrations());
    const print = (text: string) => process.stdout.write(`${text}\n`);
    const result = await command.run(args, {
      config,
      settings,
      sql: database.sql,
      log,
      clock: systemClock,
      print,
    });
    return typeof result === 'number' ? result : 0;
  } finally {
    await database.close();
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  if (argv.length === 0 || ['help', '--help', '-h'].includes(argv[0]!)) {
    process.stdout.write(`${helpText()}\n`);
    return argv.length === 0 ? 1 : 0;
  }
  if (argv[0] === '--version' || argv[0] === 'version') {
    process.stdout.write(`${packageVersion}\n`);
    return 0;
  }
  const found = findCommand(argv);
  if (!found) {
    process.stderr.write(`payflow: unknown command "${argv.join(' ')}"; run payflow --help\n`);
    return 2;
  }
  const configuration = loadConfiguration();
  if (found.command.path[0] === 'start') return runStart(found.args, configuration);
  return runCommand(found.command, found.args, configuration);
}

function isExpected(error: unknown): error is Error {
  return (
    error instanceof ConfigError ||
    error instanceof ConfigurationError ||
    error instanceof StartupError ||
    error instanceof MigrationError ||
    error instanceof UsageError ||
    error instanceof DomainError ||
    (error instanceof TypeError && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true)
  );
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  // One line per problem (a bad configuration lists every bad variable), each saying it is PayFlow's.
  if (isExpected(error)) process.stderr.write(`${error.message.replace(/^/gm, 'payflow: ')}\n`);
  else
    process.stderr.write(
      `payflow: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  process.exitCode = 1;
}
