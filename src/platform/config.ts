// The one place PayFlow reads its environment. Every variable is declared here with its default and a
// parser (the machinery is in settings.ts); every invalid value is reported at start, one line per
// variable naming it. The README's configuration table is checked against this list by a test.
import path from 'node:path';
import {
  ConfigError,
  boolean,
  declareSettings,
  integer,
  loadSettings,
  oneOf,
  optionalText,
  optionalUrl,
  settingsTable,
  type Settings,
  text,
  variable,
} from './settings.ts';

export { ConfigError, ConfigurationError } from './settings.ts';

/** Every environment variable PayFlow reads, in the order the README lists them. */
export const configVariables = {
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
  tokenIssuer: variable(
    'TOKEN_ISSUER',
    'payflow',
    'The `iss` of access tokens PayFlow issues and accepts.',
    text,
  ),
  tokenAudience: variable(
    'TOKEN_AUDIENCE',
    'payflow-api',
    'The `aud` of access tokens PayFlow issues and accepts.',
    text,
  ),
  tokenTtlSeconds: variable(
    'TOKEN_TTL_SECONDS',
    '900',
    'Lifetime of an access token from `POST /oauth/token`.',
    integer(60, 86400),
  ),
  tokenSigningAlgorithm: variable(
    'TOKEN_SIGNING_ALGORITHM',
    'ES256',
    'Algorithm of new signing keys: `ES256` or `EdDSA` (Ed25519). Tokens of either verify.',
    oneOf('ES256', 'EdDSA'),
  ),
  tokenLeewaySeconds: variable(
    'TOKEN_LEEWAY_SECONDS',
    '30',
    'Clock skew tolerated when checking `exp` and `nbf`.',
    integer(0, 300),
  ),
  revocationStaleMaxMs: variable(
    'REVOCATION_STALE_MAX_MS',
    '15000',
    'How long a process may serve tokens with a revocation list it could not refresh (database unreachable); past it, bearer tokens get 503 `revocations_unavailable` (ADR 15).',
    integer(2000, 3600000),
  ),
  signingKeyRotationDays: variable(
    'SIGNING_KEY_ROTATION_DAYS',
    '30',
    'The worker rotates the token-signing key when it is older than this (0: only `payflow keys rotate`).',
    integer(0, 3650),
  ),
  demoMerchant: variable(
    'DEMO_MERCHANT',
    'auto',
    'Create a demo merchant on first start and write `PAYFLOW_DATA_DIR/demo-credentials.json`: `auto` (only with the embedded database), `true` or `false`.',
    oneOf('auto', 'true', 'false'),
  ),
  redisUrl: variable(
    'REDIS_URL',
    undefined,
    'Redis for shared rate-limit buckets across PayFlow processes. Unset: buckets live in each process.',
    optionalUrl('redis:', 'rediss:'),
  ),
  rateLimits: variable(
    'RATE_LIMITS',
    'merchant=1200,publishable=600,admin=1200,service=12000,anonymous=600',
    'Token-bucket size per role (per client) and for `anonymous` (per IP: `/oauth/token`, unauthenticated calls); refilled every `RATE_LIMIT_WINDOW_SECONDS`. 0 turns a limit off.',
    (raw, name) => {
      const limits = { merchant: 0, publishable: 0, admin: 0, service: 0, anonymous: 0 };
      const seen = new Set<string>();
      for (const item of raw.split(',')) {
        const match = /^\s*(merchant|publishable|admin|service|anonymous)\s*=\s*(\d{1,9})\s*$/.exec(item);
        if (!match) throw new ConfigError(name, `must look like merchant=1200,anonymous=600 (got "${raw}")`);
        limits[match[1] as keyof typeof limits] = Number(match[2]);
        seen.add(match[1]!);
      }
      if (seen.size !== 5)
        throw new ConfigError(name, 'must set merchant, publishable, admin, service and anonymous');
      return limits as Readonly<typeof limits>;
    },
  ),
  rateLimitWindowSeconds: variable(
    'RATE_LIMIT_WINDOW_SECONDS',
    '60',
    'Time in which an empty rate-limit bucket refills completely.',
    integer(1, 86400),
  ),
  rateLimitRedisPrefix: variable(
    'RATE_LIMIT_REDIS_PREFIX',
    'payflow:ratelimit:',
    'Prefix of the rate-limit keys in Redis.',
    text,
  ),
  corsOrigins: variable(
    'CORS_ORIGINS',
    undefined,
    'Comma-separated origins (e.g. `https://shop.example`) whose browsers may call the API. Unset: none.',
    (raw, name) => {
      const origins = raw
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
      for (const origin of origins) {
        let url: URL;
        try {
          url = new URL(origin);
        } catch {
          throw new ConfigError(name, `has an origin that is not a URL: "${origin}"`);
        }
        if (url.origin !== origin)
          throw new ConfigError(name, `origins look like https://host[:port] (got "${origin}")`);
      }
      return origins as readonly string[];
    },
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
  vaultMasterKey: variable(
    'VAULT_MASTER_KEY',
    undefined,
    'Vault key-encryption key: 32 bytes as hex or base64, or a keyring JSON. Unset (and no `VAULT_KEY_FILE`): a keyring is generated into `PAYFLOW_DATA_DIR/vault-keyring.json`.',
    optionalText,
  ),
  vaultKeyFile: variable(
    'VAULT_KEY_FILE',
    undefined,
    'Path of the vault keyring file (same formats as `VAULT_MASTER_KEY`); `payflow vault rotate-key` adds versions to it.',
    optionalText,
  ),
  vaultFingerprintKey: variable(
    'VAULT_FINGERPRINT_KEY',
    undefined,
    'Root key (32+ bytes, hex or base64) for card fingerprints. Unset: one is generated per database, stored wrapped under the vault keyring.',
    optionalText,
  ),
  vaultCvcTtlSeconds: variable(
    'VAULT_CVC_TTL_SECONDS',
    '900',
    'How long a tokenized CVC waits for its authorization before it is purged.',
    integer(30, 86400),
  ),
  vaultUrl: variable(
    'VAULT_URL',
    undefined,
    'Base URL of a separate vault process (`payflow start --role vault`). Set: this process holds no vault key and asks that process for card data. Unset: the vault runs in-process.',
    optionalUrl('http:', 'https:'),
  ),
  vaultClientId: variable(
    'VAULT_CLIENT_ID',
    undefined,
    'Service client (`payflow clients create --role service`) this process uses to call the vault at `VAULT_URL`.',
    optionalText,
  ),
  vaultClientSecret: variable('VAULT_CLIENT_SECRET', undefined, 'Secret of `VAULT_CLIENT_ID`.', optionalText),
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
  acquirerTimeoutMs: variable(
    'ACQUIRER_TIMEOUT_MS',
    '10000',
    'Deadline of one call to the acquirer; no answer by then is an unknown outcome (202, the janitor asks later).',
    integer(50, 600000),
  ),
  acquirerNotifySecret: variable(
    'ACQUIRER_NOTIFY_SECRET',
    undefined,
    'Shared secret of the HMAC signature on acquirer notifications (`POST /internal/acquirer/notifications`). Unset: one is generated for the in-process simulator; with `ACQUIRER_URL` set, notifications are refused.',
    optionalText,
  ),
  paymentInquirySchedule: variable(
    'PAYMENT_INQUIRY_SCHEDULE',
    '5m,1h,1d,1d,1d,1d,1d',
    'When the janitor asks the acquirer again about an unknown outcome (Kill Bill schedule; units ms, s, m, h, d). After the last step: manual review.',
    text,
  ),
  paymentJobIntervalMs: variable(
    'PAYMENT_JOB_INTERVAL_MS',
    '1000',
    'How often the payments janitor, expiry, owed acquirer operations (voids, captures) and key reaper jobs run.',
    integer(10, 3600000),
  ),
  idempotencyKeyRetentionHours: variable(
    'IDEMPOTENCY_KEY_RETENTION_HOURS',
    '24',
    'Finished idempotency keys are kept at least this long, then the reaper deletes them.',
    integer(24, 8760),
  ),
  idempotencyKeyLockTimeoutMs: variable(
    'IDEMPOTENCY_KEY_LOCK_TIMEOUT_MS',
    '60000',
    'A key held longer than this by a silent request is taken over (its process died); must exceed `ACQUIRER_TIMEOUT_MS`.',
    integer(100, 3600000),
  ),
  authorizationValiditySeconds: variable(
    'AUTHORIZATION_VALIDITY_SECONDS',
    '604800',
    'How long an authorization holds funds (7 days) before the expiry job releases it.',
    integer(1, 31536000),
  ),
  faultCrashAfterProcessor: variable(
    'PAYFLOW_FAULT_CRASH_AFTER_PROCESSOR',
    'false',
    'Test only: the process kills itself between the acquirer answer and phase 2 (crash-recovery tests). Never set in production.',
    boolean,
  ),
  eventsPollIntervalMs: variable(
    'EVENTS_POLL_INTERVAL_MS',
    '250',
    'How often the outbox relay and event consumers poll when no LISTEN/NOTIFY wake-up arrives.',
    integer(10, 600000),
  ),
  eventsMaxAttempts: variable(
    'EVENTS_MAX_ATTEMPTS',
    '8',
    'Attempts a consumer group makes at one event before it goes to the dead letters (`payment.events.dlq`).',
    integer(1, 100),
  ),
  settlementFeeBps: variable(
    'SETTLEMENT_FEE_BPS',
    '290',
    "Default merchant price: PayFlow's fee per capture in basis points of its amount (290 = 2.9 %); `payflow merchants pricing set` overrides it per merchant.",
    integer(0, 10000),
  ),
  settlementFeeFixed: variable(
    'SETTLEMENT_FEE_FIXED',
    'USD:30,EUR:25,GBP:20',
    'Default fixed fee per capture, in minor units per currency (`USD:30,EUR:25`); currencies not listed pay none.',
    text,
  ),
  settlementAcquirerCostBps: variable(
    'SETTLEMENT_ACQUIRER_COST_BPS',
    '150',
    'What PayFlow expects the acquirer to keep of each capture (interchange, scheme fees, markup), in basis points; posted to `acquirer_costs` at settlement.',
    integer(0, 10000),
  ),
  settlementChunkSize: variable(
    'SETTLEMENT_CHUNK_SIZE',
    '1000',
    'Captures and refunds committed per chunk of the settlement job (one batch per chunk).',
    integer(1, 100000),
  ),
  settlementSchedule: variable(
    'SETTLEMENT_SCHEDULE',
    '00:30',
    'When the worker settles the previous UTC day, `HH:MM` UTC, or `off` (then only `payflow settlement run`).',
    (raw, name) => {
      const value = raw.trim();
      if (value === 'off' || /^([01]\d|2[0-3]):[0-5]\d$/.test(value)) return value;
      throw new ConfigError(name, `must be HH:MM (UTC) or off (got "${raw}")`);
    },
  ),
  fraudScreening: variable(
    'FRAUD_SCREENING',
    'on',
    'Screen every authorization before the acquirer (ADR 21): `on`, or `off` (no screening, no `risk` on payments).',
    boolean,
  ),
  fraudCardVelocity1hMax: variable(
    'FRAUD_CARD_VELOCITY_1H_MAX',
    '10',
    "Built-in rule `builtin_card_velocity`: block a card's attempt once it is past this many attempts on the merchant in the last hour (the attempt itself counted).",
    integer(1, 1_000_000),
  ),
  fraudIpDistinctCards1hMax: variable(
    'FRAUD_IP_DISTINCT_CARDS_1H_MAX',
    '5',
    'Built-in rule `builtin_card_testing_ip`: block once one IP address has used more than this many distinct cards in the last hour.',
    integer(1, 1_000_000),
  ),
  fraudCardDeclines1hMax: variable(
    'FRAUD_CARD_DECLINES_1H_MAX',
    '5',
    'Built-in rule `builtin_card_declines`: block a card with at least this many acquirer declines in the last hour (card testing).',
    integer(1, 1_000_000),
  ),
  fraudUsdRates: variable(
    'FRAUD_USD_RATES',
    'USD:1,EUR:1.08,GBP:1.27,CHF:1.13,CAD:0.73,AUD:0.66,JPY:0.0067,SEK:0.095,NOK:0.093,DKK:0.145,PLN:0.25,BRL:0.18,MXN:0.055,INR:0.012,KWD:3.25,BHD:2.65',
    'US dollars per major unit of each currency, for `:amount_in_usd:` and the velocity sums (the reference currency); currencies not listed have no USD amount.',
    text,
  ),
  fraudRulesCacheMs: variable(
    'FRAUD_RULES_CACHE_MS',
    '1000',
    "How long a process keeps a merchant's rules and lists in memory; a change made in another process applies within this time.",
    integer(0, 3_600_000),
  ),
  fraudAlertFailuresPerMinute: variable(
    'FRAUD_ALERT_FAILURES_PER_MINUTE',
    '10',
    'Failures of one kind on one merchant within a minute (acquirer declines, or screening blocks) that raise `fraud.alert.v1`.',
    integer(1, 1_000_000),
  ),
  eventsRetentionDays: variable(
    'EVENTS_RETENTION_DAYS',
    '30',
    'Published outbox rows, and log events every consumer group is done with, are deleted after this many days (0: kept forever). Keep it above the broker topic retention.',
    integer(0, 36500),
  ),
  eventsRetryBaseMs: variable(
    'EVENTS_RETRY_BASE_MS',
    '1000',
    'First retry delay of a failed event; doubles per attempt (with jitter, at most 15 minutes).',
    integer(0, 3600000),
  ),
  eventBus: variable(
    'EVENT_BUS',
    'postgres',
    'Where published events travel: `postgres` (a log table with consumer-group offsets), `nats` (JetStream at `NATS_URL`) or `kafka` (`KAFKA_BROKERS`).',
    oneOf('postgres', 'nats', 'kafka'),
  ),
  eventBusPrefix: variable(
    'EVENT_BUS_PREFIX',
    'payflow',
    'Names PayFlow uses on a shared broker: NATS stream `<prefix>_events` with subjects `<prefix>.events.<type>`, Kafka topic `<prefix>.payment.events`, consumer names `<prefix>_<group>`.',
    (raw, name) => {
      const value = raw.trim();
      if (!/^[a-z][a-z0-9_]{0,31}$/.test(value))
        throw new ConfigError(name, 'must be lower-case letters, digits and _ (1 to 32, a letter first)');
      return value;
    },
  ),
  natsUrl: variable(
    'NATS_URL',
    undefined,
    'NATS server with JetStream for `EVENT_BUS=nats` (e.g. `nats://127.0.0.1:4222`).',
    optionalUrl('nats:', 'tls:'),
  ),
  kafkaBrokers: variable(
    'KAFKA_BROKERS',
    undefined,
    'Comma-separated `host:port` list of Kafka brokers for `EVENT_BUS=kafka`.',
    (raw, name) => {
      const value = raw.trim();
      if (value === '') return undefined;
      const brokers = value.split(',').map((broker) => broker.trim());
      for (const broker of brokers) {
        if (!/^[A-Za-z0-9.-]+:\d{1,5}$/.test(broker))
          throw new ConfigError(name, `must list host:port pairs separated by commas (got "${broker}")`);
      }
      return brokers;
    },
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
  webhookAllowPrivate: variable(
    'WEBHOOK_ALLOW_PRIVATE',
    'false',
    'Allow webhook URLs that resolve to loopback, private, link-local or metadata addresses. Local development and tests only.',
    boolean,
  ),
  webhookTimeoutMs: variable(
    'WEBHOOK_TIMEOUT_MS',
    '10000',
    'Deadline of one webhook delivery attempt (connect, send, answer).',
    integer(50, 600000),
  ),
  webhookRetrySchedule: variable(
    'WEBHOOK_RETRY_SCHEDULE',
    '5s,5m,30m,2h,5h,10h,14h,20h,24h',
    'Delays before each retry of a failed webhook delivery (plus up to 10 % jitter; units ms, s, m, h, d). After the last one the endpoint is disabled.',
    text,
  ),
  webhookPollIntervalMs: variable(
    'WEBHOOK_POLL_INTERVAL_MS',
    '1000',
    'How often the webhook sender looks for due deliveries.',
    integer(10, 600000),
  ),
  webhookRotationGraceSeconds: variable(
    'WEBHOOK_ROTATION_GRACE_SECONDS',
    '86400',
    'After a secret rotation, how long the previous secret also signs deliveries.',
    integer(0, 2592000),
  ),
  smtpUrl: variable(
    'SMTP_URL',
    undefined,
    'SMTP server for email (receipts, endpoint-disabled notices), e.g. `smtp://user:pass@mail.example.com:587` or `smtps://…:465`. Unset: messages are stored and logged with the address masked, not sent.',
    optionalUrl('smtp:', 'smtps:'),
  ),
  emailFrom: variable(
    'EMAIL_FROM',
    'PayFlow <no-reply@payflow.local>',
    "Sender address of PayFlow's email.",
    text,
  ),
  smsProviderUrl: variable(
    'SMS_PROVIDER_URL',
    undefined,
    'Twilio-style SMS endpoint (form POST of `To`, `From`, `Body`; credentials as URL user and password, sent as HTTP Basic). Unset: SMS are stored and logged masked, not sent.',
    optionalUrl('http:', 'https:'),
  ),
  smsFrom: variable(
    'SMS_FROM',
    'PayFlow',
    'Sender of SMS messages (a number or an alphanumeric sender id).',
    text,
  ),
} as const;

const declaration = declareSettings(configVariables, checkCombinations);

export type Config = Settings<typeof configVariables>;

/** Reads and validates the environment. Throws ConfigurationError naming every invalid variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return loadSettings(declaration, env);
}

/** Rules between variables, checked after each one parsed on its own. */
function checkCombinations(config: {
  readonly idempotencyKeyLockTimeoutMs: number;
  readonly acquirerTimeoutMs: number;
  readonly eventBus: string;
  readonly natsUrl: string | undefined;
  readonly kafkaBrokers: readonly string[] | undefined;
}): ConfigError[] {
  const problems: ConfigError[] = [];
  if (config.idempotencyKeyLockTimeoutMs <= config.acquirerTimeoutMs) {
    // Otherwise a request still waiting for the acquirer could have its key taken over.
    problems.push(
      new ConfigError(
        'IDEMPOTENCY_KEY_LOCK_TIMEOUT_MS',
        `must exceed ACQUIRER_TIMEOUT_MS (${config.idempotencyKeyLockTimeoutMs} <= ${config.acquirerTimeoutMs})`,
      ),
    );
  }
  if (config.eventBus === 'nats' && config.natsUrl === undefined) {
    problems.push(new ConfigError('NATS_URL', 'must be set when EVENT_BUS=nats'));
  }
  if (config.eventBus === 'kafka' && config.kafkaBrokers === undefined) {
    problems.push(new ConfigError('KAFKA_BROKERS', 'must be set when EVENT_BUS=kafka'));
  }
  return problems;
}

/** The configuration table as Markdown, for the README (`npm run docs:config`). */
export function configurationTable(): string {
  return settingsTable(Object.values(configVariables));
}
