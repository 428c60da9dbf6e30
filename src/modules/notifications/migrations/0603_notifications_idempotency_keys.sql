-- Idempotency keys of the /webhooks POST and DELETE routes (src/platform/idempotency.ts), with the
-- columns of payments.idempotency_keys that a single-transaction endpoint uses. A key is inserted and
-- finished in the route's own transaction, so a committed key is always finished. The stored body
-- of a secret-bearing answer holds no secret (README "Webhooks", ADR 13).
create table notifications.idempotency_keys (
  merchant_id text not null,
  idempotency_key text not null check (length(idempotency_key) between 1 and 255),
  operation text not null
    check (operation in ('create_endpoint', 'rotate_secret', 'enable_endpoint', 'delete_endpoint',
      'retry_delivery')),
  request_fingerprint text not null check (request_fingerprint ~ '^[0-9a-f]{64}$'),
  locked_at timestamptz,
  recovery_point text not null check (recovery_point in ('started', 'finished')),
  resource_id text,
  response_status integer check (response_status between 200 and 599),
  response_body text check (response_body !~ 'whsec_'),
  created_at timestamptz not null,
  updated_at timestamptz not null,
  finished_at timestamptz,
  primary key (merchant_id, idempotency_key),
  check ((recovery_point = 'finished') = (response_status is not null and response_body is not null)),
  check ((recovery_point = 'finished') = (finished_at is not null)),
  check (recovery_point <> 'finished' or locked_at is null)
);
create index idempotency_keys_finished_at on notifications.idempotency_keys (finished_at)
  where recovery_point = 'finished';
