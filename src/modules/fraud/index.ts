// The fraud module (ADR 21): screening before the acquirer (`assess`, the RiskPort payments
// receives), merchant rules and lists, the review queue (acted on through payments' face), and a
// consumer of payment outcomes that feeds decline velocity and raises `fraud.alert.v1`.
// Created before payments (payments screens through its face); payments attaches its review
// decisions to this face when it is created.
import { Counter, Histogram } from 'prom-client';
import { ConfigError } from '../../platform/settings.ts';
import type { ModuleDefinition } from '../../platform/module.ts';
import type { RequestAuthenticator } from '../../platform/http/auth.ts';
import { stageEvent, type EventsFace } from '../events/index.ts';
import { fraudConsumedEventTypes, learnFromOutcome } from './application/learn-from-outcomes.ts';
import {
  assessPayment,
  recordedAssessment,
  type AssessInput,
  type FraudDependencies,
  type RiskAssessment,
  type Screening,
} from './application/screen-payment.ts';
import { builtinRules } from './domain/screening.ts';
import { registerFraudRoutes, type ReviewActions } from './http/routes.ts';
import { postgresVelocityStore, redisVelocityStore, type VelocityStore } from './infra/velocity-store.ts';
import { fraudSettings } from './settings.ts';

export type { AssessInput, RiskAssessment, Screening } from './application/screen-payment.ts';
export type { ReviewActions } from './http/routes.ts';
export { fraudAlertEventType } from './application/learn-from-outcomes.ts';

/** What payments receives: the screening step before the acquirer. */
export interface FraudFace {
  /** Whether authorizations are screened (FRAUD_SCREENING). */
  readonly screening: boolean;
  /** Screens a payment; the caller stores the decision with `save` in the transaction applying it. */
  assess(input: AssessInput): Promise<Screening>;
  /** The decision stored for a payment, if it was screened. */
  recorded(paymentId: string): Promise<RiskAssessment | undefined>;
  /**
   * What a screening added to its authorization (ADR 31): the seconds it waited for the screening
   * beyond the vault's credentials, fetched meanwhile. Only the caller knows it.
   */
  added(seconds: number): void;
  /**
   * Payments, created after fraud, hands over its review decisions here (typed, once, at its
   * creation); until then the review routes answer 503.
   */
  attachReviews(actions: ReviewActions): void;
}

/** Buckets of the screening's histograms (issue 13's target, 2 ms, is one of the bounds). */
const screeningBuckets = [0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/**
 * Buckets of what the screening adds to an authorization: finer below 2 ms (issue 13's target), where
 * it lives once the velocity round trip runs beside the vault's.
 */
const addedBuckets = [
  0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
];

/** Redis answers one script well under this; past it the screening goes on without velocity. */
export const velocityTimeoutMs = 250;

export function parseUsdRates(text: string): Map<string, number> {
  const rates = new Map<string, number>();
  for (const part of text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)) {
    const match = /^([A-Z]{3}):([0-9]+(?:\.[0-9]+)?)$/.exec(part);
    if (!match) throw new ConfigError('FRAUD_USD_RATES', `"${part}" is not CODE:rate (e.g. EUR:1.08)`);
    rates.set(match[1]!, Number(match[2]));
  }
  return rates;
}

export const fraudModule: ModuleDefinition = {
  manifest: {
    name: 'fraud',
    settings: fraudSettings,
    migrationsDirectory: new URL('./migrations', import.meta.url).pathname,
  },
  async create(context, faces) {
    const { config } = context;
    const own = context.settings(fraudSettings);
    const events = faces['events'] as EventsFace | undefined;
    const identity = faces['identity'] as { readonly authenticator: RequestAuthenticator } | undefined;
    const velocity: VelocityStore = config.redisUrl
      ? redisVelocityStore(config.redisUrl, `${config.rateLimitRedisPrefix}fraud:`, velocityTimeoutMs)
      : postgresVelocityStore(context.sql);
    const unavailable = new Counter({
      name: 'payflow_fraud_velocity_unavailable_total',
      help: 'Screenings made without velocity counters because their store did not answer, by the merchant fail mode.',
      labelNames: ['fail_mode'],
      registers: context.metrics ? [context.metrics] : [],
    });
    // Both series exist from the start at 0, so rate() and the alert see the first screening without
    // counters (ops/prometheus/alerts.yml, PayflowFraudVelocityUnavailable).
    for (const failMode of ['open', 'closed']) unavailable.inc({ fail_mode: failMode }, 0);
    const decisions = new Counter({
      name: 'payflow_fraud_decisions_total',
      help: 'Screening decisions, by decision.',
      labelNames: ['decision'],
      registers: context.metrics ? [context.metrics] : [],
    });
    const screeningParts = new Histogram({
      name: 'payflow_fraud_screening_part_seconds',
      help: "Time of each part of the fraud screening: loading the merchant's rules, the velocity counters, the rules' decision.",
      labelNames: ['part'],
      buckets: screeningBuckets,
      registers: context.metrics ? [context.metrics] : [],
    });
    const dependencies: FraudDependencies = {
      sql: context.sql,
      clock: context.clock,
      log: context.log,
      velocity,
      builtins: builtinRules({
        cardVelocity1hMax: own.fraudCardVelocity1hMax,
        ipDistinctCards1hMax: own.fraudIpDistinctCards1hMax,
        cardDeclines1hMax: own.fraudCardDeclines1hMax,
      }),
      usdRates: parseUsdRates(own.fraudUsdRates),
      rulesCacheMs: own.fraudRulesCacheMs,
      metrics: {
        velocityUnavailable: (mode) => unavailable.inc({ fail_mode: mode }),
        decision: (decision) => decisions.inc({ decision }),
        part: (part, seconds) => screeningParts.observe({ part }, seconds),
      },
    };
    events?.subscribe('fraud', fraudConsumedEventTypes, (event, { transaction, merchantId }) =>
      learnFromOutcome(
        { velocity, stage: stageEvent, alertThreshold: own.fraudAlertFailuresPerMinute },
        transaction,
        event,
        merchantId,
      ),
    );
    const screeningSeconds = new Histogram({
      name: 'payflow_fraud_screening_seconds',
      help: "Wall time of the fraud screening (the merchant's rules, the velocity counters, the decision); what it adds to an authorization is payflow_fraud_screening_added_seconds.",
      buckets: screeningBuckets,
      registers: context.metrics ? [context.metrics] : [],
    });
    const addedSeconds = new Histogram({
      name: 'payflow_fraud_screening_added_seconds',
      help: "Time an authorization waited for its fraud screening beyond the vault's credentials, fetched meanwhile: what the screening adds to authorize.",
      buckets: addedBuckets,
      registers: context.metrics ? [context.metrics] : [],
    });
    let reviews: ReviewActions | undefined;
    const face: FraudFace = {
      screening: own.fraudScreening,
      async assess(input) {
        const stop = screeningSeconds.startTimer();
        try {
          return await assessPayment(dependencies, input);
        } finally {
          stop();
        }
      },
      recorded: (paymentId) => recordedAssessment(dependencies, paymentId),
      added: (seconds) => addedSeconds.observe(seconds),
      attachReviews(actions) {
        reviews = actions;
      },
    };
    return {
      name: 'fraud',
      face,
      registerRoutes(app) {
        if (!identity) {
          context.log.warn('fraud: no identity module, so its routes are not served');
          return;
        }
        registerFraudRoutes(app, {
          ...dependencies,
          authenticator: identity.authenticator,
          reviews: () => reviews,
        });
      },
      close: () => velocity.close(),
    };
  },
};
