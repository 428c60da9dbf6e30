-- Fraud screening (ADR 21): merchant rules, lists, the decision on every authorization, and the
-- PostgreSQL fallback of the velocity counters (Redis holds them when REDIS_URL is set).
create schema fraud;

-- A merchant's rules. Every change bumps the merchant's ruleset version (fraud.rulesets) and is
-- kept in fraud.rule_versions, so a decision names the exact rules it ran.
create table fraud.rules (
  id text primary key check (id ~ '^rule_[0-9a-hjkmnp-tv-z]{26}$'),
  merchant_id text not null check (merchant_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  action text not null check (action in ('allow', 'block', 'review')),
  source text not null check (length(source) between 1 and 2000),
  description text check (description is null or length(description) <= 500),
  enabled boolean not null default true,
  version integer not null default 1 check (version >= 1),
  deleted_at timestamptz,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
create index rules_by_merchant on fraud.rules (merchant_id) where deleted_at is null;

create table fraud.rule_versions (
  rule_id text not null references fraud.rules (id),
  version integer not null,
  action text not null,
  source text not null,
  enabled boolean not null,
  deleted boolean not null,
  created_at timestamptz not null,
  primary key (rule_id, version)
);

create table fraud.rulesets (
  merchant_id text primary key,
  version integer not null check (version >= 1),
  -- When the velocity store (Redis) does not answer: 'open' screens without velocity (logged and
  -- counted), 'closed' blocks.
  velocity_fail_mode text not null default 'open' check (velocity_fail_mode in ('open', 'closed')),
  updated_at timestamptz not null
);

-- Allow and block lists, referenced in rules as @name.
create table fraud.list_items (
  merchant_id text not null check (merchant_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  list_name text not null check (list_name ~ '^[a-z][a-z0-9_]{0,63}$'),
  value text not null check (length(value) between 1 and 320),
  created_at timestamptz not null,
  primary key (merchant_id, list_name, value)
);

-- One decision per payment: what the screening saw (signals), what it decided and why.
create table fraud.assessments (
  payment_id text primary key,
  merchant_id text not null,
  decision text not null check (decision in ('allow', 'review', 'block')),
  score integer not null check (score between 0 and 99),
  reasons jsonb not null,
  signals jsonb not null,
  ruleset_version integer not null,
  created_at timestamptz not null
);
create index assessments_by_merchant on fraud.assessments (merchant_id, created_at desc);

-- Velocity counters when REDIS_URL is unset: one row per (counter, member); `at` is when it was
-- seen (for distinct counters, last seen). Rows older than the longest window are deleted as they
-- are read.
create table fraud.velocity (
  counter text not null,
  member text not null,
  amount bigint not null default 0,
  at timestamptz not null,
  primary key (counter, member)
);
create index velocity_by_time on fraud.velocity (counter, at);

-- Alerts raised by the outcome consumer, one per (merchant, kind, window): the uniqueness makes a
-- redelivered event raise nothing twice.
create table fraud.alerts (
  merchant_id text not null,
  kind text not null,
  window_start timestamptz not null,
  raised_at timestamptz not null,
  primary key (merchant_id, kind, window_start)
);
