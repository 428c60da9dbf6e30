// Structured JSON logs (pino). Redaction is a list that modules extend with `addRedactPaths` before the
// logger is created: anything that might hold a secret or card data is censored at the source.
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

const redactPaths = new Set<string>([
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.secret',
  '*.clientSecret',
  '*.client_secret',
  '*.accessToken',
  '*.access_token',
  '*.number',
  '*.cardNumber',
  '*.pan',
  '*.cvc',
  '*.cvv',
  '*.card.number',
  '*.card.cvc',
]);

/** Adds pino redact paths (https://getpino.io/#/docs/redaction). Call before createLogger. */
export function addRedactPaths(paths: readonly string[]): void {
  for (const item of paths) redactPaths.add(item);
}

export function redactedPaths(): readonly string[] {
  return [...redactPaths];
}

export interface LoggerSettings {
  readonly level: string;
  readonly name?: string;
  readonly destination?: pino.DestinationStream;
}

export function loggerOptions(settings: LoggerSettings): LoggerOptions {
  return {
    level: settings.level,
    name: settings.name ?? 'payflow',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: [...redactPaths], censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
  };
}

export function createLogger(settings: LoggerSettings): Logger {
  const options = loggerOptions(settings);
  return settings.destination ? pino(options, settings.destination) : pino(options);
}
