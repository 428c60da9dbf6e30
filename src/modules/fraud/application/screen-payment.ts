// assess(payment): the screening step of the authorize flow, outside any payment transaction (ADR 21).
// One Redis script (velocity, this attempt counted) and the rules in memory (the merchant's ruleset
// is cached for FRAUD_RULES_CACHE_MS); the decision is stored by the caller's phase 2. A payment
// screened twice (a resumed request) is counted once and keeps the first decision stored.
import type { Clock } from '../../../platform/clock.ts';
import type { Sql, TransactionSql } from '../../../platform/db/client.ts';
import type { Logger } from '../../../platform/log.ts';
import { parseRule } from '../domain/rule-language.ts';
import {
  attributeCatalog,
  decide,
  riskLevel as levelOf,
  riskScore,
  signalValues,
  type ActiveRule,
  type Decision,
  type PaymentFacts,
  type Reason,
  type RiskLevel,
  type Velocity,
} from '../domain/screening.ts';
import {
  findAssessment,
  findRuleset,
  insertAssessment,
  listItems,
  listRules,
  type AssessmentRow,
} from '../infra/fraud-repository.ts';
import type { VelocityStore } from '../infra/velocity-store.ts';

export interface FraudMetrics {
  velocityUnavailable(mode: 'open' | 'closed'): void;
  decision(decision: Decision): void;
  /** Seconds one part of a screening took: the ruleset, the velocity counters, the rules' decision. */
  part(part: 'rules' | 'velocity' | 'decision', seconds: number): void;
}

export interface FraudDependencies {
  readonly sql: Sql;
  readonly clock: Clock;
  readonly log: Logger;
  readonly velocity: VelocityStore;
  readonly builtins: readonly ActiveRule[];
  /** US dollars per major unit of each currency (FRAUD_USD_RATES). */
  readonly usdRates: ReadonlyMap<string, number>;
  readonly rulesCacheMs: number;
  readonly metrics: FraudMetrics;
}

export interface AssessInput {
  readonly paymentId: string;
  readonly merchantId: string;
  readonly amount: bigint;
  readonly currency: string;
  readonly exponent: number;
  readonly method: string;
  readonly card?: PaymentFacts['card'];
  readonly payer: PaymentFacts['payer'];
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** The decision as payments stores and shows it (`risk` on the payment). */
export interface RiskAssessment {
  readonly decision: Decision;
  readonly score: number;
  readonly riskLevel: RiskLevel;
  readonly reasons: readonly Reason[];
  readonly rulesetVersion: number;
}

/** A decision, and how to store it in the caller's transaction. */
export interface Screening extends RiskAssessment {
  /** Stores the decision, or the caller's amended one (a block the caller could not apply). */
  save(transaction: TransactionSql, amended?: Pick<RiskAssessment, 'decision' | 'reasons'>): Promise<void>;
}

/** A merchant's rules, lists and settings, as the screening runs them. */
export interface Ruleset {
  readonly version: number;
  readonly failMode: 'open' | 'closed';
  readonly rules: readonly ActiveRule[];
  readonly lists: ReadonlyMap<string, ReadonlySet<string>>;
}

interface CachedRuleset {
  readonly ruleset: Ruleset;
  /** After this, a screening still uses it but reloads it in the background (one reload at a time). */
  readonly refreshAt: number;
  /** After this, a screening waits for a fresh load. */
  readonly until: number;
  refreshing?: Promise<unknown>;
}

const cache = new Map<string, CachedRuleset>();
/** A merchant's loads in flight: concurrent screenings of a cold merchant share one. */
const loading = new Map<string, Promise<Ruleset>>();
/** Bumped by a change: a load begun before it must not be cached after it. */
const generations = new Map<string, number>();

/** Forgets a merchant's cached ruleset (after a change in this process). */
export function invalidateRuleset(merchantId: string): void {
  cache.delete(merchantId);
  loading.delete(merchantId);
  generations.set(merchantId, (generations.get(merchantId) ?? 0) + 1);
}

/**
 * The merchant's rules and lists, cached for FRAUD_RULES_CACHE_MS. A screening never waits for a
 * reload while traffic flows: past half of that time the next screening starts a reload in the
 * background and uses the cached ruleset meanwhile; only a ruleset older than the whole time (or none)
 * is waited for. A change made in another process applies within FRAUD_RULES_CACHE_MS.
 */
export async function loadRuleset(dependencies: FraudDependencies, merchantId: string): Promise<Ruleset> {
  const cached = cache.get(merchantId);
  const nowMs = Date.now();
  if (cached && nowMs < cached.until) {
    if (nowMs >= cached.refreshAt && cached.refreshing === undefined)
      cached.refreshing = loadOnce(dependencies, merchantId).catch((error: unknown) => {
        dependencies.log.warn(
          { err: error, merchantId },
          'fraud rules could not be reloaded; using the cached ones',
        );
      });
    return cached.ruleset;
  }
  return loadOnce(dependencies, merchantId);
}

function loadOnce(dependencies: FraudDependencies, merchantId: string): Promise<Ruleset> {
  let load = loading.get(merchantId);
  if (load === undefined) {
    const generation = generations.get(merchantId) ?? 0;
    const startedMs = Date.now();
    load = readRuleset(dependencies, merchantId).then(
      (ruleset) => {
        if (loading.get(merchantId) === load) loading.delete(merchantId);
        if ((generations.get(merchantId) ?? 0) === generation)
          cache.set(merchantId, {
            ruleset,
            refreshAt: startedMs + dependencies.rulesCacheMs / 2,
            until: startedMs + dependencies.rulesCacheMs,
          });
        return ruleset;
      },
      (error: unknown) => {
        if (loading.get(merchantId) === load) loading.delete(merchantId);
        throw error;
      },
    );
    loading.set(merchantId, load);
  }
  return load;
}

async function readRuleset(dependencies: FraudDependencies, merchantId: string): Promise<Ruleset> {
  const [rules, ruleset, items] = await Promise.all([
    listRules(dependencies.sql, merchantId),
    findRuleset(dependencies.sql, merchantId),
    listItems(dependencies.sql, merchantId),
  ]);
  const lists = new Map<string, Set<string>>();
  for (const item of items) {
    const set = lists.get(item.list_name) ?? new Set<string>();
    set.add(item.value);
    lists.set(item.list_name, set);
  }
  const merchantRules = rules
    .filter((rule) => rule.enabled)
    .map((rule) => ({
      id: rule.id,
      version: rule.version,
      source: rule.source,
      parsed: parseRule(rule.source, attributeCatalog),
    }));
  const loaded: Ruleset = {
    version: ruleset?.version ?? 0,
    failMode: ruleset?.velocity_fail_mode ?? 'open',
    rules: [...dependencies.builtins, ...merchantRules],
    lists,
  };
  return loaded;
}

export function amountInUsd(
  dependencies: FraudDependencies,
  amount: bigint,
  currency: string,
  exponent: number,
): number | null {
  const rate = dependencies.usdRates.get(currency);
  if (rate === undefined) return null;
  return Math.round((Number(amount) / 10 ** exponent) * rate * 100) / 100;
}

let lastWarningMs = 0;

/**
 * Screens a payment: velocity (this attempt counted), the rules, the decision. Nothing is written to
 * the database here: the caller stores the decision with `save` in the transaction that applies it
 * (payments' phase 2), so the screening costs no connection from the pool.
 */
export async function assessPayment(dependencies: FraudDependencies, input: AssessInput): Promise<Screening> {
  const at = dependencies.clock.now();
  let partStarted = process.hrtime.bigint();
  const partDone = (part: 'rules' | 'velocity' | 'decision') => {
    const now = process.hrtime.bigint();
    dependencies.metrics.part(part, Number(now - partStarted) / 1e9);
    partStarted = now;
  };
  const ruleset = await loadRuleset(dependencies, input.merchantId);
  partDone('rules');
  const usd = amountInUsd(dependencies, input.amount, input.currency, input.exponent);
  const facts: PaymentFacts = {
    amount: input.amount,
    currency: input.currency,
    amountInUsd: usd,
    exponent: input.exponent,
    method: input.method,
    ...(input.card && { card: input.card }),
    payer: input.payer,
    metadata: input.metadata,
  };
  let velocity: Velocity = {};
  let unavailable = false;
  try {
    velocity = await dependencies.velocity.record({
      merchantId: input.merchantId,
      paymentId: input.paymentId,
      at,
      amountUsdMinor: usd === null ? 0 : usd * 100,
      cardFingerprint: input.card?.fingerprint,
      email: input.payer.email,
      ipAddress: input.payer.ipAddress,
    });
  } catch (error) {
    unavailable = true;
    dependencies.metrics.velocityUnavailable(ruleset.failMode);
    if (Date.now() - lastWarningMs > 10_000) {
      lastWarningMs = Date.now();
      dependencies.log.warn(
        { err: error, store: dependencies.velocity.kind, failMode: ruleset.failMode },
        'fraud velocity counters unavailable: screening without them',
      );
    }
  }
  partDone('velocity');
  const score = riskScore(facts, velocity);
  const values = signalValues(facts, velocity, score);
  let result = decide(ruleset.rules, values, ruleset.lists, score);
  if (unavailable) {
    const reason: Reason = {
      rule: 'velocity_unavailable',
      action: ruleset.failMode === 'closed' ? 'block' : 'allow',
      values: {},
    };
    result =
      ruleset.failMode === 'closed' && result.decision !== 'block'
        ? { ...result, decision: 'block', reasons: [reason] }
        : { ...result, reasons: [...result.reasons, reason] };
  }
  partDone('decision');
  const row: AssessmentRow = {
    payment_id: input.paymentId,
    merchant_id: input.merchantId,
    decision: result.decision,
    score: result.score,
    reasons: [...result.reasons],
    signals: values,
    ruleset_version: ruleset.version,
    created_at: at,
  };
  dependencies.metrics.decision(row.decision);
  return {
    ...assessmentOf(row),
    save: (transaction, amended) =>
      insertAssessment(
        transaction,
        amended ? { ...row, decision: amended.decision, reasons: [...amended.reasons] } : row,
      ),
  };
}

function assessmentOf(stored: AssessmentRow): RiskAssessment {
  return {
    decision: stored.decision,
    score: stored.score,
    riskLevel: levelOf(stored.score),
    reasons: stored.reasons,
    rulesetVersion: stored.ruleset_version,
  };
}

/** The decision stored for a payment (a resumed authorization the acquirer already answered). */
export async function recordedAssessment(
  dependencies: FraudDependencies,
  paymentId: string,
): Promise<RiskAssessment | undefined> {
  const stored = await findAssessment(dependencies.sql, paymentId);
  return stored ? assessmentOf(stored) : undefined;
}
