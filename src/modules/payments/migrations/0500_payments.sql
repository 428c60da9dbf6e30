-- Payments, refunds and idempotency keys. The amounts the payment row carries repeat what the ledger
-- says; the CHECKs restate the domain rules so that no code path can store a broken payment.
create schema payments;

create table payments.payments (
  id text primary key check (id ~ '^pay_[0-9a-z]{26}$'),
  merchant_id text not null check (length(merchant_id) between 1 and 64),
  amount bigint not null check (amount > 0 and amount <= 99999999999),
  currency text not null check (currency ~ '^[A-Z]{3}$'),
  method text not null check (method in ('card', 'wallet', 'bank_redirect')),
  token text check (token is null or length(token) <= 128),
  capture_on_authorize boolean not null,
  status text not null check (status in ('PENDING', 'REQUIRES_ACTION', 'AUTHORIZED', 'CAPTURED',
    'PARTIALLY_REFUNDED', 'REFUNDED', 'VOIDED', 'FAILED', 'EXPIRED')),
  authorized_amount bigint not null default 0 check (authorized_amount >= 0),
  captured_amount bigint not null default 0 check (captured_amount >= 0),
  refunded_amount bigint not null default 0 check (refunded_amount >= 0),
  -- Refunds sent to the acquirer whose outcome is not recorded yet: reserved against the capture.
  refunding_amount bigint not null default 0 check (refunding_amount >= 0),
  version integer not null default 0 check (version >= 0),
  -- The reference the acquirer deduplicates the authorization on; derived from the id, never re-made.
  processor_reference text not null unique,
  acquirer_authorization_id text,
  decline_code text check (decline_code is null or length(decline_code) <= 64),
  next_action jsonb,
  metadata jsonb not null default '{}'::jsonb
    check (jsonb_typeof(metadata) = 'object' and pg_column_size(metadata) <= 8192),
  -- A capture or void sent to the acquirer whose answer is not recorded yet (at most one at a time).
  pending_operation text check (pending_operation in ('capture', 'void')),
  pending_operation_amount bigint check (pending_operation_amount is null or pending_operation_amount > 0),
  expires_at timestamptz,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  authorized_at timestamptz,
  captured_at timestamptz,
  voided_at timestamptz,
  check (authorized_amount <= amount),
  check (captured_amount <= authorized_amount),
  check (refunded_amount + refunding_amount <= captured_amount),
  check ((pending_operation is null) = (pending_operation_amount is null)),
  check (status not in ('AUTHORIZED', 'CAPTURED', 'PARTIALLY_REFUNDED', 'REFUNDED') or authorized_amount > 0),
  check (status not in ('PENDING', 'REQUIRES_ACTION', 'FAILED') or authorized_amount = 0),
  check ((status in ('CAPTURED', 'PARTIALLY_REFUNDED', 'REFUNDED')) = (captured_amount > 0)),
  check (status <> 'FAILED' or decline_code is not null),
  check (status <> 'REQUIRES_ACTION' or next_action is not null),
  check (method = 'bank_redirect' or token is not null)
);

create index payments_merchant_created on payments.payments (merchant_id, created_at desc, id desc);
create index payments_merchant_status_created on payments.payments (merchant_id, status, created_at desc, id desc);
create index payments_expiring on payments.payments (expires_at)
  where status in ('AUTHORIZED', 'REQUIRES_ACTION');

create table payments.refunds (
  id text primary key check (id ~ '^ref_[0-9a-z]{26}$'),
  payment_id text not null references payments.payments (id),
  merchant_id text not null,
  amount bigint not null check (amount > 0 and amount <= 99999999999),
  currency text not null check (currency ~ '^[A-Z]{3}$'),
  status text not null check (status in ('PENDING', 'REFUNDED', 'FAILED')),
  reason text check (reason is null or length(reason) <= 64),
  metadata jsonb not null default '{}'::jsonb
    check (jsonb_typeof(metadata) = 'object' and pg_column_size(metadata) <= 8192),
  processor_reference text not null unique,
  acquirer_refund_id text,
  decline_code text check (decline_code is null or length(decline_code) <= 64),
  created_at timestamptz not null,
  updated_at timestamptz not null,
  check (status <> 'FAILED' or decline_code is not null)
);

create index refunds_payment on payments.refunds (payment_id, created_at);

-- Brandur Leach's idempotency keys: one row per (merchant, key). `recovery_point` says how far the
-- request got: `started` (nothing committed but the key), `phase1_committed` (its resource exists and
-- an acquirer call may have been made), `finished` (the response is stored and replayed byte for byte).
create table payments.idempotency_keys (
  merchant_id text not null,
  idempotency_key text not null check (length(idempotency_key) between 1 and 255),
  operation text not null check (operation in ('authorize', 'capture', 'refund', 'void')),
  request_fingerprint text not null check (request_fingerprint ~ '^[0-9a-f]{64}$'),
  locked_at timestamptz,
  recovery_point text not null check (recovery_point in ('started', 'phase1_committed', 'finished')),
  resource_id text,
  response_status integer check (response_status between 200 and 599),
  response_body text,
  -- When the janitor next asks the acquirer about an unknown outcome, and how often it has asked.
  next_attempt_at timestamptz,
  attempts integer not null default 0 check (attempts >= 0),
  created_at timestamptz not null,
  updated_at timestamptz not null,
  primary key (merchant_id, idempotency_key),
  check ((recovery_point = 'finished') = (response_status is not null and response_body is not null)),
  check (recovery_point = 'started' or resource_id is not null),
  check (recovery_point <> 'finished' or locked_at is null)
);

create index idempotency_keys_unfinished on payments.idempotency_keys (next_attempt_at)
  where recovery_point = 'phase1_committed';
create index idempotency_keys_resource on payments.idempotency_keys (resource_id)
  where recovery_point = 'phase1_committed';
create index idempotency_keys_finished_created on payments.idempotency_keys (created_at)
  where recovery_point = 'finished';
