// The screening decision, without I/O: the signals a payment carries, its risk score, the built-in
// rules and the merchant's, evaluated in Radar's order (allow, then block, then review).
import {
  evaluate,
  parseRule,
  type AttributeCatalog,
  type ParsedRule,
  type RuleAction,
  type Value,
  type ValueType,
} from './rule-language.ts';

export type Decision = 'allow' | 'review' | 'block';
export type RiskLevel = 'normal' | 'elevated' | 'highest';

/** Velocity windows: 1 minute, 1 hour, 24 hours. */
export const windows = { '1m': 60_000, '1h': 3_600_000, '24h': 86_400_000 } as const;
export type Window = keyof typeof windows;

/** Counts and sums (in the reference currency's minor units) over the three windows. */
export interface WindowCounts {
  readonly count: Readonly<Record<Window, number>>;
  readonly sum: Readonly<Record<Window, number>>;
}

/** What the velocity store answers for one payment (including the payment itself). */
export interface Velocity {
  readonly card?: WindowCounts;
  readonly email?: WindowCounts;
  readonly ip?: WindowCounts;
  readonly cardDeclines?: Readonly<Record<Window, number>>;
  readonly cardRefunds?: Readonly<Record<Window, number>>;
  readonly ipDistinctCards?: Readonly<Record<Window, number>>;
  readonly emailDistinctCards?: Readonly<Record<Window, number>>;
  readonly firstSeenCard?: boolean;
}

const catalogEntries: [string, ValueType][] = [
  ['amount', 'number'],
  ['amount_in_usd', 'number'],
  ['currency', 'string'],
  ['payment_method', 'string'],
  ['card_fingerprint', 'string'],
  ['card_bin', 'string'],
  ['card_brand', 'string'],
  ['card_country', 'string'],
  ['ip_address', 'string'],
  ['ip_country', 'string'],
  ['email', 'string'],
  ['email_domain', 'string'],
  ['billing_country', 'string'],
  ['is_first_seen_card', 'boolean'],
  ['risk_score', 'number'],
  ['risk_level', 'string'],
];
for (const scope of ['card', 'email', 'ip'] as const) {
  for (const window of Object.keys(windows)) {
    catalogEntries.push([`${scope}_velocity_${window}`, 'number']);
    catalogEntries.push([`${scope}_amount_usd_${window}`, 'number']);
  }
}
for (const window of Object.keys(windows)) {
  catalogEntries.push([`card_declines_${window}`, 'number']);
  catalogEntries.push([`card_refunds_${window}`, 'number']);
  catalogEntries.push([`ip_distinct_cards_${window}`, 'number']);
  catalogEntries.push([`email_distinct_cards_${window}`, 'number']);
}

/** Every attribute a rule may read, with its type. */
export const attributeCatalog: AttributeCatalog = new Map(catalogEntries);

/** The facts of one authorization attempt, before velocity. */
export interface PaymentFacts {
  readonly amount: bigint;
  readonly currency: string;
  /** The amount in US dollars (major units), or null when the currency has no configured rate. */
  readonly amountInUsd: number | null;
  readonly exponent: number;
  readonly method: string;
  readonly card?: {
    readonly fingerprint: string;
    readonly bin: string;
    readonly last4: string;
    readonly brand: string;
  };
  readonly payer: {
    readonly email?: string | undefined;
    readonly ipAddress?: string | undefined;
    readonly billingCountry?: string | undefined;
  };
  readonly metadata: Readonly<Record<string, unknown>>;
}

// Issuing countries of the simulator's BINs (8-digit prefixes first). A production deployment loads
// a BIN table from its acquirer; PayFlow knows only its test cards.
const binCountries: readonly [string, string][] = [
  ['40000076', 'BR'],
  ['40000012', 'CA'],
  ['40000484', 'MX'],
  ['40000826', 'GB'],
  ['40000250', 'FR'],
  ['40000276', 'DE'],
  ['40000392', 'JP'],
  ['4', 'US'],
  ['5', 'US'],
  ['2', 'US'],
  ['3', 'US'],
  ['6', 'US'],
];

export function binCountry(bin: string): string | null {
  for (const [prefix, country] of binCountries) if (bin.startsWith(prefix)) return country;
  return null;
}

/** The simulator's IP ranges by country: 203.0.113.0/24 (TEST-NET-3) is AU, 198.51.100.0/24 is GB, the rest US. */
export function ipCountry(ip: string | undefined): string | null {
  if (ip === undefined) return null;
  if (ip.startsWith('203.0.113.')) return 'AU';
  if (ip.startsWith('198.51.100.')) return 'GB';
  if (ip.startsWith('192.0.2.')) return 'DE';
  if (/^(10|127)\.|^192\.168\.|^::1$/.test(ip)) return null;
  return 'US';
}

/** The simulator's Radar-like test cards (docs/test-cards.md), known by BIN and last 4 (the screening never sees a PAN). */
export function testCardRisk(card: PaymentFacts['card']): number | undefined {
  if (!card) return undefined;
  if (card.bin.startsWith('410000') && card.last4 === '0019') return 99;
  if (card.bin.startsWith('400000') && card.last4 === '4954') return 85;
  if (card.bin.startsWith('400000') && card.last4 === '9235') return 70;
  return undefined;
}

export function riskLevel(score: number): RiskLevel {
  if (score >= 75) return 'highest';
  if (score >= 65) return 'elevated';
  return 'normal';
}

/**
 * The risk score, 0–99: a transparent sum of weighted signals (no model). A test card's fixed score
 * wins. Each point source is listed in ADR 21 (docs/adr/0021-fraud-screening.md, "Risk score").
 */
export function riskScore(facts: PaymentFacts, velocity: Velocity): number {
  const fixed = testCardRisk(facts.card);
  if (fixed !== undefined) return fixed;
  let score = 5;
  const cardCountry = facts.card ? binCountry(facts.card.bin) : null;
  const fromIp = ipCountry(facts.payer.ipAddress);
  if (cardCountry && fromIp && cardCountry !== fromIp) score += 20;
  if (cardCountry && facts.payer.billingCountry && cardCountry !== facts.payer.billingCountry.toUpperCase())
    score += 10;
  if (velocity.firstSeenCard) score += 10;
  score += Math.min(30, (velocity.cardDeclines?.['24h'] ?? 0) * 10);
  if ((velocity.ipDistinctCards?.['1h'] ?? 0) > 3) score += 15;
  if ((facts.amountInUsd ?? 0) > 1000) score += 10;
  return Math.max(0, Math.min(99, score));
}

/** Every signal by attribute name (null: the payment did not carry it). */
export function signalValues(facts: PaymentFacts, velocity: Velocity, score: number): Record<string, Value> {
  const email = facts.payer.email?.toLowerCase();
  const values: Record<string, Value> = {
    amount: Number(facts.amount) / 10 ** facts.exponent,
    amount_in_usd: facts.amountInUsd,
    currency: facts.currency,
    payment_method: facts.method,
    card_fingerprint: facts.card?.fingerprint ?? null,
    card_bin: facts.card?.bin ?? null,
    card_brand: facts.card?.brand ?? null,
    card_country: facts.card ? binCountry(facts.card.bin) : null,
    ip_address: facts.payer.ipAddress ?? null,
    ip_country: ipCountry(facts.payer.ipAddress),
    email: email ?? null,
    email_domain: email?.split('@')[1] ?? null,
    billing_country: facts.payer.billingCountry?.toUpperCase() ?? null,
    is_first_seen_card: velocity.firstSeenCard ?? null,
    risk_score: score,
    risk_level: riskLevel(score),
  };
  for (const scope of ['card', 'email', 'ip'] as const) {
    for (const window of Object.keys(windows) as Window[]) {
      const counts = velocity[scope];
      values[`${scope}_velocity_${window}`] = counts?.count[window] ?? null;
      values[`${scope}_amount_usd_${window}`] = counts ? counts.sum[window] / 100 : null;
    }
  }
  for (const window of Object.keys(windows) as Window[]) {
    values[`card_declines_${window}`] = velocity.cardDeclines?.[window] ?? null;
    values[`card_refunds_${window}`] = velocity.cardRefunds?.[window] ?? null;
    values[`ip_distinct_cards_${window}`] = velocity.ipDistinctCards?.[window] ?? null;
    values[`email_distinct_cards_${window}`] = velocity.emailDistinctCards?.[window] ?? null;
  }
  for (const [key, value] of Object.entries(facts.metadata))
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      values[`metadata.${key}`] = String(value);
  return values;
}

/** A rule ready to run: a built-in (`builtin_…`) or a merchant's (`rule_…`). */
export interface ActiveRule {
  readonly id: string;
  readonly version: number;
  readonly source: string;
  readonly parsed: ParsedRule;
}

export interface BuiltinLimits {
  readonly cardVelocity1hMax: number;
  readonly ipDistinctCards1hMax: number;
  readonly cardDeclines1hMax: number;
}

/** The built-in rules, written in the rule language itself with the configured limits. */
export function builtinRules(limits: BuiltinLimits): ActiveRule[] {
  const sources: [string, string][] = [
    ['builtin_highest_risk', "block if :risk_level: = 'highest'"],
    ['builtin_card_velocity', `block if :card_velocity_1h: > ${limits.cardVelocity1hMax}`],
    ['builtin_card_testing_ip', `block if :ip_distinct_cards_1h: > ${limits.ipDistinctCards1hMax}`],
    ['builtin_card_declines', `block if :card_declines_1h: >= ${limits.cardDeclines1hMax}`],
    ['builtin_elevated_risk', "review if :risk_level: = 'elevated'"],
    // Filled by the fraud consumer from chargebacks the merchant bore (settlement.adjusted.v1).
    ['builtin_chargebacked_card', 'review if :card_fingerprint: in @chargebacked_cards'],
  ];
  return sources.map(([id, source]) => ({
    id,
    version: 1,
    source,
    parsed: parseRule(source, attributeCatalog),
  }));
}

export interface Reason {
  readonly rule: string;
  readonly action: RuleAction;
  /** The values the rule saw, by attribute. */
  readonly values: Readonly<Record<string, Value>>;
}

export interface ScreeningResult {
  readonly decision: Decision;
  readonly score: number;
  readonly riskLevel: RiskLevel;
  readonly reasons: readonly Reason[];
}

const actionOrder: readonly RuleAction[] = ['allow', 'block', 'review'];

/**
 * A reason's value as the payment shows it: the payer's email and IP masked (`***@example.com`,
 * `198.51.100.x`), so the decision stored on the payment carries no personal data; the fraud
 * module's own record keeps them until the payer's data is erased (docs/personal-data.md).
 */
export function shownValue(attribute: string, value: Value): Value {
  if (value === null || typeof value !== 'string') return value;
  if (attribute === 'email') return `***@${value.split('@')[1] ?? ''}`;
  if (attribute === 'ip_address')
    return value.includes(':')
      ? `${value.split(':').slice(0, 3).join(':')}:…`
      : value.replace(/\.\d+$/, '.x');
  return value;
}

/**
 * Runs the rules in Radar's order: the first action with a matching rule decides (an allow rule
 * that matches stops every block and review rule). The reasons are the matching rules of that action.
 */
export function decide(
  rules: readonly ActiveRule[],
  values: Readonly<Record<string, Value>>,
  lists: ReadonlyMap<string, ReadonlySet<string>>,
  score: number,
): ScreeningResult {
  const input = {
    value: (attribute: string) => values[attribute] ?? null,
    listHas: (list: string, value: string) => lists.get(list)?.has(value) ?? false,
  };
  for (const action of actionOrder) {
    const matched = rules.filter(
      (rule) => rule.parsed.action === action && evaluate(rule.parsed.condition, input),
    );
    if (matched.length === 0) continue;
    return {
      decision: action === 'allow' ? 'allow' : action,
      score,
      riskLevel: riskLevel(score),
      reasons: matched.map((rule) => ({
        rule: rule.id,
        action,
        values: Object.fromEntries(
          rule.parsed.attributes.map((name) => [name, shownValue(name, values[name] ?? null)]),
        ),
      })),
    };
  }
  return { decision: 'allow', score, riskLevel: riskLevel(score), reasons: [] };
}
