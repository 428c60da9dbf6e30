// The fraud module's environment variables (ADR 30): declared here, listed on its manifest (so the
// app validates them at start and the README's configuration table shows them), read with
// `context.settings(fraudSettings)`.
import { boolean, declareSettings, integer, text, variable, type Settings } from '../../platform/settings.ts';

export const fraudSettings = declareSettings({
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
});

export type FraudVariables = Settings<typeof fraudSettings.variables>;
