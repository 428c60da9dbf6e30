// The events module's environment variables (ADR 30): declared here, listed on its manifest (so the
// app validates them at start and the README's configuration table shows them), read with
// `context.settings(eventsSettings)`.
import {
  ConfigError,
  declareSettings,
  integer,
  oneOf,
  optionalUrl,
  variable,
  type Settings,
} from '../../platform/settings.ts';

export const eventsSettings = declareSettings(
  {
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
  },
  (settings) => {
    const problems: ConfigError[] = [];
    if (settings.eventBus === 'nats' && settings.natsUrl === undefined)
      problems.push(new ConfigError('NATS_URL', 'must be set when EVENT_BUS=nats'));
    if (settings.eventBus === 'kafka' && settings.kafkaBrokers === undefined)
      problems.push(new ConfigError('KAFKA_BROKERS', 'must be set when EVENT_BUS=kafka'));
    return problems;
  },
);

export type EventsVariables = Settings<typeof eventsSettings.variables>;
