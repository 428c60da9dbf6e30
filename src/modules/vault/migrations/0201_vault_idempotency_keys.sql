-- Idempotency keys of POST /tokens (src/platform/idempotency.ts), with the columns of
-- payments.idempotency_keys that a single-transaction endpoint uses. No card data in any form: the
-- fingerprint is an HMAC under a key derived from the vault's fingerprint key over the request
-- without the CVC, and the stored body is the token's public description (brand, BIN, last 4).
create table vault.idempotency_keys (
  merchant_id text not null check (length(merchant_id) between 1 and 255),
  idempotency_key text not null check (length(idempotency_key) between 1 and 255),
  operation text not null check (operation in ('tokenize')),
  request_fingerprint text not null check (request_fingerprint ~ '^[0-9a-f]{64}$'),
  locked_at timestamptz,
  recovery_point text not null check (recovery_point in ('started', 'finished')),
  resource_id text check (resource_id ~ '^tok_[0-9a-hjkmnp-tv-z]{26}$'),
  response_status integer check (response_status between 200 and 599),
  response_body text,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  finished_at timestamptz,
  primary key (merchant_id, idempotency_key),
  check ((recovery_point = 'finished') = (response_status is not null and response_body is not null)),
  check ((recovery_point = 'finished') = (finished_at is not null)),
  check (recovery_point <> 'finished' or locked_at is null)
);
create index idempotency_keys_finished_at on vault.idempotency_keys (finished_at)
  where recovery_point = 'finished';
