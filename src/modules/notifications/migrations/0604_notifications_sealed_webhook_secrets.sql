-- Webhook signing secrets sealed at rest (ADR 16): secret_sealed and previous_secret_sealed hold the
-- `whsec_…` secrets sealed with the platform secrets key (AES-256-GCM, bound to
-- notifications.webhook_endpoints/<id>/<column>). SQL cannot encrypt, so endpoints written before
-- this migration keep their clear secrets until the notifications module seals them at start and
-- nulls the clear columns; new secrets are only ever written sealed. Each secret lives in exactly
-- one of its two columns, and the grace expiry goes with whichever previous secret is set.
alter table notifications.webhook_endpoints
  alter column secret drop not null,
  add column secret_sealed text check (secret_sealed ~ '^pfs1\.[A-Za-z0-9_.-]+$'),
  add column previous_secret_sealed text check (previous_secret_sealed ~ '^pfs1\.[A-Za-z0-9_.-]+$'),
  -- Was: (previous_secret is null) = (previous_secret_expires_at is null), from 0600.
  drop constraint webhook_endpoints_check,
  add constraint webhook_endpoints_secret_once check ((secret is null) <> (secret_sealed is null)),
  add constraint webhook_endpoints_previous_secret_once
    check (previous_secret is null or previous_secret_sealed is null),
  add constraint webhook_endpoints_previous_secret_expiry
    check ((previous_secret is null and previous_secret_sealed is null) = (previous_secret_expires_at is null));
