// Structured JSON logs (pino). Redaction is a list that modules extend with `addRedactPaths` before the
// logger is created: anything that might hold a secret or card data is censored at the source.
import { pino, type Logger, type LoggerOptions } from 'pino';
import { traceLogFields } from './tracing.ts';

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

// 13–19 digits, optionally split by single spaces, dashes, "+" or their URL encodings: a card number
// pasted into a URL (`/tokens/4242 4242 …`, `?number=…`). Ids never hold such runs.
const cardNumberLikeRun = /[0-9](?:(?:[ +-]|%20|%2[bBdD])?[0-9]){12,18}/g;

// Query parameters whose values are card data whatever they look like (`?cvc=123`).
const cardDataParameter =
  /([?&;](?:number|card[a-z_]*|pan|cvc|cvv2?|csc|security_?code|cryptogram|network_?token)=)[^&;#]*/gi;

/** Replaces anything shaped like a card number in free text (a URL) with `[redacted]`. */
export function maskCardNumbers(text: string): string {
  return text.replace(cardNumberLikeRun, '[redacted]');
}

/** A URL as logs may show it: card-number-like runs and card-data query values masked. */
export function maskUrl(url: string): string {
  return maskCardNumbers(url).replace(cardDataParameter, '$1[redacted]');
}

interface LoggedRequest {
  readonly method?: string;
  readonly url?: string;
  readonly host?: string;
  readonly ip?: string;
  readonly socket?: { readonly remotePort?: number };
}

/** Fastify's request serializer with the URL masked: a merchant may paste a card number into a URL. */
function serializeRequest(request: LoggedRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: typeof request.url === 'string' ? maskUrl(request.url) : undefined,
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
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
    serializers: { req: serializeRequest },
    formatters: { level: (label) => ({ level: label }) },
    // trace_id and span_id of the active span when tracing is on (ADR 23); a new {} when off.
    mixin: traceLogFields,
  };
}

export function createLogger(settings: LoggerSettings): Logger {
  const options = loggerOptions(settings);
  return settings.destination ? pino(options, settings.destination) : pino(options);
}

/**
 * A server process's logger: lines go to stdout without a blocking write per line (pino's
 * asynchronous destination; lines written while a write is in flight leave together). Buffered
 * lines are flushed when the process exits, also on process.exit() and an uncaught exception; a
 * kill -9 can lose the last few milliseconds of lines. Under load this saves a write system call
 * per request and line (issue 12).
 */
export function createProcessOutputLogger(settings: Omit<LoggerSettings, 'destination'>): Logger {
  return createLogger({ ...settings, destination: pino.destination({ dest: 1, sync: false }) });
}
