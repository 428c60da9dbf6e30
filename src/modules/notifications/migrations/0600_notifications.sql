-- Webhook endpoints, deliveries and their attempts (Standard Webhooks), and merchant notices the
-- future email sender sends. Endpoints are soft-deleted so their delivery history stays readable.
create schema notifications;

create table notifications.webhook_endpoints (
  id text primary key check (id ~ '^we_[0-9a-hjkmnp-tv-z]{26}$'),
  merchant_id text not null check (merchant_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  url text not null check (url ~ '^https?://' and length(url) <= 2048),
  event_types text[] not null check (cardinality(event_types) between 1 and 50),
  secret text not null check (secret ~ '^whsec_'),
  previous_secret text check (previous_secret ~ '^whsec_'),
  previous_secret_expires_at timestamptz,
  enabled boolean not null default true,
  disabled_reason text,
  failure_count integer not null default 0 check (failure_count >= 0),
  created_at timestamptz not null,
  updated_at timestamptz not null,
  deleted_at timestamptz,
  check ((previous_secret is null) = (previous_secret_expires_at is null)),
  check (enabled or disabled_reason is not null)
);
create index webhook_endpoints_merchant on notifications.webhook_endpoints (merchant_id, id)
  where deleted_at is null;

create table notifications.webhook_deliveries (
  -- The stable `webhook-id` header of every attempt.
  id text primary key check (id ~ '^msg_[0-9a-hjkmnp-tv-z]{26}$'),
  endpoint_id text not null references notifications.webhook_endpoints (id),
  merchant_id text not null,
  event_id text not null,
  event_type text not null,
  -- The exact body sent on every attempt (the event envelope as JSON).
  body text not null,
  status text not null check (status in ('pending', 'succeeded', 'failed')),
  attempt_count integer not null default 0 check (attempt_count >= 0),
  next_attempt_at timestamptz,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  unique (endpoint_id, event_id),
  check ((status = 'pending') = (next_attempt_at is not null))
);
create index webhook_deliveries_due on notifications.webhook_deliveries (next_attempt_at)
  where status = 'pending';
create index webhook_deliveries_endpoint on notifications.webhook_deliveries (endpoint_id, created_at);

create table notifications.webhook_attempts (
  delivery_id text not null references notifications.webhook_deliveries (id),
  attempt_number integer not null check (attempt_number >= 1),
  attempted_at timestamptz not null,
  webhook_timestamp bigint not null,
  status_code integer check (status_code between 100 and 599),
  latency_ms integer not null check (latency_ms >= 0),
  response_body text check (octet_length(response_body) <= 1024),
  error text check (length(error) <= 1000),
  succeeded boolean not null,
  primary key (delivery_id, attempt_number),
  check (not succeeded or (status_code between 200 and 299 and error is null))
);

create table notifications.notices (
  id text primary key check (id ~ '^ntc_[0-9a-hjkmnp-tv-z]{26}$'),
  merchant_id text not null,
  kind text not null check (kind in ('webhook_endpoint_disabled')),
  subject text not null,
  body text not null,
  created_at timestamptz not null,
  sent_at timestamptz
);
create index notices_unsent on notifications.notices (created_at) where sent_at is null;
