// The process's Prometheus registry. The gateway serves it at GET /metrics; modules add gauges whose
// figures are read at scrape time (registerScrapedGauges). A read is bounded: when the database is
// slow or down, that source's gauges are left out of the scrape (and a warning logged) instead of the
// scrape hanging or failing.
import { Gauge, Registry } from 'prom-client';
import type { Queryable, Sql } from './db/client.ts';
import type { Logger } from './log.ts';

export type MetricsRegistry = Registry;

export function createMetricsRegistry(): MetricsRegistry {
  return new Registry();
}

/** How long a scrape waits for one source's figures (and its statement timeout) before leaving them out. */
export const scrapeReadTimeoutMs = 2000;

export interface GaugeSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface ScrapedGauge<Figures> {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly string[];
  /** A number for a gauge without labels; one sample per label set for a gauge with labels. */
  value(figures: Figures): number | readonly GaugeSample[];
}

export interface ScrapedGaugeSource<Figures> {
  /** Names the figures in the warning logged when they cannot be read. */
  readonly source: string;
  readonly sql: Sql;
  /** Reads the figures through a read-only transaction that has a statement timeout. */
  read(queryable: Queryable): Promise<Figures>;
  readonly gauges: readonly ScrapedGauge<Figures>[];
  readonly timeoutMs?: number;
}

/** Registers the source's gauges; every scrape reads the figures once, shared by all of them. */
export function registerScrapedGauges<Figures>(
  registry: MetricsRegistry,
  log: Logger,
  source: ScrapedGaugeSource<Figures>,
): void {
  const timeoutMs = source.timeoutMs ?? scrapeReadTimeoutMs;
  let inFlight: Promise<Figures | undefined> | undefined;
  // prom-client asks every metric of a scrape at once, so the gauges of one scrape share one read.
  const figures = () => {
    inFlight ??= readBounded(source, timeoutMs, log).finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
  for (const gauge of source.gauges) new ScrapedGaugeMetric(gauge, figures, registry);
}

async function readBounded<Figures>(
  source: ScrapedGaugeSource<Figures>,
  timeoutMs: number,
  log: Logger,
): Promise<Figures | undefined> {
  let timer: NodeJS.Timeout | undefined;
  // The statement timeout frees the connection; the timer also covers waiting for one.
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no figures within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const read = source.sql.begin('read only', async (transaction) => {
      await transaction`select set_config('statement_timeout', ${String(timeoutMs)}, true)`;
      return source.read(transaction);
    }) as Promise<Figures>;
    return await Promise.race([read, deadline]);
  } catch (error) {
    log.warn(
      { err: error, metricsSource: source.source },
      'metrics figures unavailable; left out of this scrape',
    );
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

class ScrapedGaugeMetric<Figures> extends Gauge<string> {
  readonly #definition: ScrapedGauge<Figures>;
  readonly #figures: () => Promise<Figures | undefined>;

  constructor(
    definition: ScrapedGauge<Figures>,
    figures: () => Promise<Figures | undefined>,
    registry: MetricsRegistry,
  ) {
    super({
      name: definition.name,
      help: definition.help,
      labelNames: [...(definition.labelNames ?? [])],
      registers: [registry],
    });
    this.#definition = definition;
    this.#figures = figures;
  }

  override async get() {
    const figures = await this.#figures();
    // Reset, set and read happen without an await between them, so concurrent scrapes cannot mix.
    this.reset();
    if (figures !== undefined) {
      const value = this.#definition.value(figures);
      if (typeof value === 'number') this.set(value);
      else for (const sample of value) this.set(sample.labels, sample.value);
    }
    const snapshot = await super.get();
    // Unknown is not zero: a gauge without figures has no sample at all.
    return figures === undefined ? { ...snapshot, values: [] } : snapshot;
  }
}
