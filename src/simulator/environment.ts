// Reads the simulator's settings from environment variables when it runs as its own process. An
// invalid value is refused with a message naming the variable, before anything starts.
import type { SimulatorOptions } from './index.ts';

export class SimulatorEnvironmentError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`invalid configuration: ${variable} ${message}`);
    this.name = 'SimulatorEnvironmentError';
  }
}

export interface SimulatorEnvironment {
  readonly options: Omit<SimulatorOptions, 'logger'>;
  readonly logLevel: string;
}

type Environment = Readonly<Record<string, string | undefined>>;

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function valueOf(environment: Environment, name: string): string | undefined {
  const value = environment[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function integer(
  environment: Environment,
  name: string,
  fallback: number,
  minimum: number,
  maximum: number,
): number {
  const raw = valueOf(environment, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < minimum || value > maximum) {
    throw new SimulatorEnvironmentError(
      name,
      `must be an integer from ${minimum} to ${maximum} (got "${raw}")`,
    );
  }
  return value;
}

function fraction(environment: Environment, name: string): number {
  const raw = valueOf(environment, name);
  if (raw === undefined) return 0;
  const value = Number(raw);
  if (!/^[0-9.]+$/.test(raw) || !(value >= 0 && value <= 1)) {
    throw new SimulatorEnvironmentError(name, `must be a number from 0 to 1 (got "${raw}")`);
  }
  return value;
}

function optionalHttpUrl(environment: Environment, name: string): string | undefined {
  const raw = valueOf(environment, name);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SimulatorEnvironmentError(name, 'must be a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SimulatorEnvironmentError(name, 'must be an http:// or https:// URL');
  }
  return raw;
}

function logLevel(environment: Environment): string {
  const raw = valueOf(environment, 'SIMULATOR_LOG_LEVEL') ?? 'info';
  if (!logLevels.includes(raw)) {
    throw new SimulatorEnvironmentError(
      'SIMULATOR_LOG_LEVEL',
      `must be one of ${logLevels.join(', ')} (got "${raw}")`,
    );
  }
  return raw;
}

export function readSimulatorEnvironment(environment: Environment): SimulatorEnvironment {
  const notifyUrl = optionalHttpUrl(environment, 'SIMULATOR_NOTIFY_URL');
  const publicUrl = optionalHttpUrl(environment, 'SIMULATOR_PUBLIC_URL');
  const notifySecret = valueOf(environment, 'SIMULATOR_NOTIFY_SECRET');
  const stateFile = valueOf(environment, 'SIMULATOR_STATE_FILE');
  return {
    options: {
      port: integer(environment, 'SIMULATOR_PORT', 8090, 0, 65535),
      host: valueOf(environment, 'SIMULATOR_HOST') ?? '127.0.0.1',
      latencyMs: integer(environment, 'SIMULATOR_LATENCY_MS', 0, 0, 600_000),
      failureRate: fraction(environment, 'SIMULATOR_FAILURE_RATE'),
      slowResponseMs: integer(environment, 'SIMULATOR_SLOW_RESPONSE_MS', 30_000, 0, 600_000),
      refundFailureDelayMs: integer(environment, 'SIMULATOR_REFUND_FAILURE_DELAY_MS', 1_000, 0, 600_000),
      ...(notifyUrl !== undefined && { notifyUrl }),
      ...(notifySecret !== undefined && { notifySecret }),
      ...(publicUrl !== undefined && { publicUrl }),
      ...(stateFile !== undefined && { stateFile }),
    },
    logLevel: logLevel(environment),
  };
}
