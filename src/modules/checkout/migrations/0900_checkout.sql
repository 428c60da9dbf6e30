-- Hosted checkout (ADR 24): a merchant creates a session, the payer pays it on PayFlow's page.
create schema checkout;

create table checkout.sessions (
  id text primary key check (id ~ '^cs_[0-9a-hjkmnp-tv-z]{26}$'),
  merchant_id text not null check (merchant_id ~ '^mer_[0-9a-hjkmnp-tv-z]{26}$'),
  amount bigint not null check (amount between 1 and 99999999999),
  currency text not null check (currency ~ '^[A-Z]{3}$'),
  description text not null check (length(btrim(description)) between 1 and 500),
  success_url text not null check (success_url ~ '^https?://' and length(success_url) <= 2048),
  cancel_url text not null check (cancel_url ~ '^https?://' and length(cancel_url) <= 2048),
  capture boolean not null,
  status text not null check (status in ('open', 'completed')),
  created_at timestamptz not null,
  expires_at timestamptz not null,
  -- The payment attempt in flight (or whose outcome is unknown): its idempotency key and card token.
  -- Another card may try only once this attempt is known to have failed.
  attempt_key text check (attempt_key is null or length(attempt_key) between 1 and 255),
  attempt_token text check (attempt_token is null or attempt_token ~ '^tok_[0-9a-z]{26}$'),
  attempt_started_at timestamptz,
  attempts integer not null default 0 check (attempts between 0 and 1000),
  payment_id text unique check (payment_id is null or payment_id ~ '^pay_[0-9a-z]{26}$'),
  completed_at timestamptz,
  check (expires_at > created_at),
  check ((attempt_key is null) = (attempt_token is null) and (attempt_key is null) = (attempt_started_at is null)),
  -- A completed session names the one payment that paid it, and only then.
  check ((status = 'completed') = (payment_id is not null)),
  check ((status = 'completed') = (completed_at is not null))
);

create index sessions_merchant_created_idx on checkout.sessions (merchant_id, created_at desc);

-- The API client the checkout uses to authorize for a merchant (created on the merchant's first
-- session); its secret is sealed like other secrets at rest (ADR 16).
create table checkout.merchant_clients (
  merchant_id text primary key check (merchant_id ~ '^mer_[0-9a-hjkmnp-tv-z]{26}$'),
  client_id text not null unique check (client_id ~ '^cli_[0-9a-hjkmnp-tv-z]{26}$'),
  client_secret_sealed text not null check (client_secret_sealed like 'pfs1.%'),
  created_at timestamptz not null
);
