// The platform's own environment variables (ADR 30): the process (port, host, TLS, stop), the
// database, logging, tracing, the secrets key, Redis, the acquirer endpoint the app hands to every
// module, and idempotency-key retention. Each module declares its own in src/modules/<m>/settings.ts;
// the machinery is in settings.ts and the app (src/apps/configuration.ts) composes them all.
import path from 'node:path';
import {
  boolean,
  ConfigError,
  declareSettings,
  integer,
  oneOf,
  optionalText,
  optionalUrl,
  text,
  variable,
  type Settings,
} from './settings.ts';

export const platformSettings = declareSettings({
  port: variable('PORT', '8080', 'HTTP port of the API (0 picks a free port).', integer(0, 65535)),
  host: variable('HOST', '127.0.0.1', 'Address the API listens on (`0.0.0.0` for all interfaces).', text),
  databaseUrl: variable(
    'DATABASE_URL',
    undefined,
    'PostgreSQL to use. Unset: PayFlow starts its own embedded PostgreSQL under `PAYFLOW_DATA_DIR`.',
    optionalUrl('postgres:', 'postgresql:'),
  ),
  dataDir: variable(
    'PAYFLOW_DATA_DIR',
    '.payflow',
    'Directory for the embedded database and generated local secrets.',
    (raw) => path.resolve(raw),
  ),
  embeddedPostgresPort: variable(
    'EMBEDDED_PG_PORT',
    undefined,
    'Port of the embedded PostgreSQL (listens on localhost only). Unset: 54329 when it is free, else a free port (the start log says which); set, that port or a clear error.',
    (raw, name) => (raw.trim() === '' ? undefined : integer(1, 65535)(raw, name)),
  ),
  databasePoolMax: variable('DATABASE_POOL_MAX', '10', 'Connections per PayFlow process.', integer(1, 500)),
  migrateOnStart: variable(
    'MIGRATE_ON_START',
    'true',
    'Apply pending migrations when the server starts.',
    boolean,
  ),
  logLevel: variable(
    'LOG_LEVEL',
    'info',
    'One of fatal, error, warn, info, debug, trace, silent.',
    oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
  ),
  bodyLimitBytes: variable(
    'BODY_LIMIT_BYTES',
    '1048576',
    'Largest request body accepted; larger gets 413.',
    integer(1024, 104857600),
  ),
  shutdownTimeoutMs: variable(
    'SHUTDOWN_TIMEOUT_MS',
    '10000',
    'How long a stop waits for in-flight requests and jobs.',
    integer(0, 600000),
  ),
  publicBaseUrl: variable(
    'PUBLIC_BASE_URL',
    undefined,
    'Base URL clients use to reach PayFlow (defaults to `http://HOST:PORT`).',
    optionalText,
  ),
  redisUrl: variable(
    'REDIS_URL',
    undefined,
    'Redis for shared rate-limit buckets across PayFlow processes. Unset: buckets live in each process.',
    optionalUrl('redis:', 'rediss:'),
  ),
  rateLimitRedisPrefix: variable(
    'RATE_LIMIT_REDIS_PREFIX',
    'payflow:ratelimit:',
    'Prefix of the rate-limit keys in Redis.',
    text,
  ),
  tlsCertFile: variable(
    'TLS_CERT_FILE',
    undefined,
    'PEM certificate (chain) file; with `TLS_KEY_FILE`, PayFlow serves HTTPS and sends HSTS.',
    optionalText,
  ),
  tlsKeyFile: variable('TLS_KEY_FILE', undefined, 'PEM private key file for `TLS_CERT_FILE`.', optionalText),
  trustProxy: variable(
    'TRUST_PROXY',
    'false',
    'Behind a TLS-terminating proxy: `true`, a hop count, or comma-separated proxy addresses/CIDRs whose `X-Forwarded-*` headers are believed (client IP for rate limits).',
    (raw): boolean | number | string => {
      const value = raw.trim();
      if (value === '' || value === 'false') return false;
      if (value === 'true') return true;
      if (/^\d{1,2}$/.test(value)) return Number(value);
      return value;
    },
  ),
  secretsKey: variable(
    'PAYFLOW_SECRETS_KEY',
    undefined,
    'Key that seals token-signing keys and webhook secrets in the database: 32 bytes as hex or base64 (or several, comma-separated: the first seals, all open; see `payflow secrets rotate-key`). Unset (and no `PAYFLOW_SECRETS_KEY_FILE`): a key is generated into `PAYFLOW_DATA_DIR/secrets-key`. Every PayFlow process of one database needs the same key.',
    optionalText,
  ),
  secretsKeyFile: variable(
    'PAYFLOW_SECRETS_KEY_FILE',
    undefined,
    'Path of a file holding the secrets key, or several one per line, the first sealing (same format as `PAYFLOW_SECRETS_KEY`); `payflow secrets rotate-key` puts a new key first in it.',
    optionalText,
  ),
  acquirerUrl: variable(
    'ACQUIRER_URL',
    undefined,
    'Base URL of the acquirer. Unset: PayFlow starts its acquirer simulator in-process on `SIMULATOR_PORT`.',
    optionalUrl('http:', 'https:'),
  ),
  simulatorPort: variable(
    'SIMULATOR_PORT',
    '0',
    'Port of the built-in acquirer simulator when `ACQUIRER_URL` is unset. 0 (the default) picks a free port, so that two PayFlows, or PayFlow and anything on 8090, share a machine; the start log says where it listens.',
    integer(0, 65535),
  ),
  acquirerNotifySecret: variable(
    'ACQUIRER_NOTIFY_SECRET',
    undefined,
    'Shared secret of the HMAC signature on acquirer notifications (`POST /internal/acquirer/notifications`). Unset: one is generated for the in-process simulator; with `ACQUIRER_URL` set, notifications are refused.',
    optionalText,
  ),
  idempotencyKeyRetentionHours: variable(
    'IDEMPOTENCY_KEY_RETENTION_HOURS',
    '24',
    'Finished idempotency keys are kept at least this long, then the reaper deletes them.',
    integer(24, 8760),
  ),
  otelTracesExporter: variable(
    'OTEL_TRACES_EXPORTER',
    'none',
    'OpenTelemetry traces: `none` (off, no SDK loaded), `zipkin` (to `OTEL_EXPORTER_ZIPKIN_ENDPOINT`) or `otlp` (OTLP/HTTP to `OTEL_EXPORTER_OTLP_ENDPOINT`). Off by default, unlike the OpenTelemetry default.',
    oneOf('none', 'zipkin', 'otlp'),
  ),
  otelSdkDisabled: variable(
    'OTEL_SDK_DISABLED',
    'false',
    'OpenTelemetry switch: `true` turns tracing off whatever `OTEL_TRACES_EXPORTER` says.',
    boolean,
  ),
  otelTracesSampler: variable(
    'OTEL_TRACES_SAMPLER',
    'parentbased_always_on',
    "Which traces are kept: `always_on`, `always_off`, `traceidratio`, or `parentbased_` with one of those (follow an incoming `traceparent`'s decision).",
    oneOf(
      'always_on',
      'always_off',
      'traceidratio',
      'parentbased_always_on',
      'parentbased_always_off',
      'parentbased_traceidratio',
    ),
  ),
  otelTracesSamplerArg: variable(
    'OTEL_TRACES_SAMPLER_ARG',
    '1',
    'The ratio (0 to 1) of traces kept by the `traceidratio` samplers.',
    (raw, name) => {
      const value = Number(raw.trim());
      if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1)
        throw new ConfigError(name, `must be a number from 0 to 1 (got "${raw}")`);
      return value;
    },
  ),
  otelServiceName: variable(
    'OTEL_SERVICE_NAME',
    'payflow',
    'The `service.name` of this process in traces (e.g. `payflow-api`, `payflow-worker`).',
    (raw, name) => {
      const value = raw.trim();
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(value))
        throw new ConfigError(name, 'must be 1 to 64 letters, digits, ".", "_" or "-"');
      return value;
    },
  ),
  otelExporterZipkinEndpoint: variable(
    'OTEL_EXPORTER_ZIPKIN_ENDPOINT',
    'http://localhost:9411/api/v2/spans',
    'Where `OTEL_TRACES_EXPORTER=zipkin` sends spans (Zipkin v2 JSON).',
    (raw, name) => optionalUrl('http:', 'https:')(raw, name) ?? 'http://localhost:9411/api/v2/spans',
  ),
  otelExporterOtlpEndpoint: variable(
    'OTEL_EXPORTER_OTLP_ENDPOINT',
    'http://localhost:4318',
    'Base URL of the OTLP/HTTP collector for `OTEL_TRACES_EXPORTER=otlp` (spans go to `<url>/v1/traces`).',
    (raw, name) => optionalUrl('http:', 'https:')(raw, name) ?? 'http://localhost:4318',
  ),
});

/** The platform's settings, parsed: every process has them on its context (`context.config`). */
export type Config = Settings<typeof platformSettings.variables>;
