// `payflow start --role <role>` as a child process, for tests that run PayFlow as several processes
// (and kill some): `ready` resolves with the URL an api process listens on, or '' for a worker.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { randomUUID } from 'node:crypto';
import { repositoryRoot, temporaryDataDir, testPoolMax, testSecretsKey, testFraudLimits } from './server.ts';

export interface PayflowProcess {
  readonly role: 'api' | 'worker';
  readonly child: ChildProcess;
  readonly output: string[];
  readonly ready: Promise<string>;
  /** SIGTERM (or the signal given) and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export function startPayflowProcess(
  role: 'api' | 'worker',
  env: Record<string, string>,
  extraArgs: readonly string[] = [],
): PayflowProcess {
  const child: ChildProcess = spawn(
    process.execPath,
    [path.join(repositoryRoot, 'bin/payflow.js'), 'start', '--role', role, ...extraArgs],
    {
      cwd: repositoryRoot,
      env: {
        ...process.env,
        PORT: '0',
        SIMULATOR_PORT: '0',
        LOG_LEVEL: 'info',
        PAYFLOW_DATA_DIR: temporaryDataDir(),
        DATABASE_POOL_MAX: testPoolMax,
        PAYFLOW_SECRETS_KEY: testSecretsKey,
        RATE_LIMIT_REDIS_PREFIX: `payflow-test:${randomUUID()}:`,
        ...testFraudLimits,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const output: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<string>((resolve, reject) => {
    const onLine = (line: string) => {
      output.push(line);
      const listening = /"url":"(http[^"]+)".*"msg":"PayFlow is listening"/.exec(line);
      if (listening) resolve(listening[1]!);
      if (line.includes('"msg":"PayFlow jobs are running"')) resolve('');
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    void exited.then(() => reject(new Error(`payflow ${role} exited:\n${output.join('\n')}`)));
  });
  ready.catch(() => undefined);
  return {
    role,
    child,
    output,
    ready,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
