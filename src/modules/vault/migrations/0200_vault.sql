-- The card vault. No other module reads this schema; a separate database role can own it (README,
-- "Card vault"). No column holds a clear card number, CVC or cryptogram: only AES-256-GCM
-- ciphertext under a per-record data key, the data key wrapped by a versioned key-encryption key
-- that lives outside the database (docs/adr/0007-vault-key-hierarchy.md).
create schema vault;

create table vault.card_tokens (
  token_id text primary key check (token_id ~ '^tok_[0-9a-hjkmnp-tv-z]{26}$'),
  merchant_id text not null check (length(merchant_id) between 1 and 255),
  kind text not null check (kind in ('card', 'wallet')),
  wallet_type text check (wallet_type in ('apple_pay', 'google_pay')),
  brand text not null
    check (brand in ('visa', 'mastercard', 'amex', 'discover', 'jcb', 'unionpay', 'diners', 'unknown')),
  -- PCI DSS 3.4.1: at most the first 8 (PANs of 16+ digits) or 6 digits and the last 4.
  bin text check (bin ~ '^[0-9]{6}([0-9]{2})?$'),
  last4 text not null check (last4 ~ '^[0-9]{4}$'),
  exp_month smallint not null check (exp_month between 1 and 12),
  exp_year smallint not null check (exp_year between 2000 and 2200),
  -- Keyed HMAC, per merchant (never a plain hash of the number).
  fingerprint text check (fingerprint ~ '^[A-Za-z0-9_-]{22}$'),
  key_version integer not null check (key_version >= 1),
  wrapped_key bytea not null check (length(wrapped_key) = 61),
  ciphertext bytea not null check (length(ciphertext) > 29),
  created_at timestamptz not null default now(),
  rewrapped_at timestamptz,
  check ((kind = 'card') = (wallet_type is null)),
  check ((kind = 'card') = (bin is not null and fingerprint is not null)),
  check (kind = 'card' or (bin is null and fingerprint is null))
);
create index card_tokens_merchant_fingerprint on vault.card_tokens (merchant_id, fingerprint)
  where fingerprint is not null;
create index card_tokens_key_version on vault.card_tokens (key_version);

-- A CVC waits here, encrypted and bound to its token, for the one authorization that uses it
-- (PCI DSS 3.3.1): that authorization deletes it, and a job purges it once expires_at passes.
create table vault.cvc_records (
  token_id text primary key references vault.card_tokens (token_id) on delete cascade,
  key_version integer not null check (key_version >= 1),
  wrapped_key bytea not null check (length(wrapped_key) = 61),
  ciphertext bytea not null check (length(ciphertext) between 32 and 33),
  created_at timestamptz not null,
  expires_at timestamptz not null,
  rewrapped_at timestamptz,
  check (expires_at > created_at)
);
create index cvc_records_expires_at on vault.cvc_records (expires_at);

-- The root key of card fingerprints when VAULT_FINGERPRINT_KEY is unset: one random key per
-- database, stored wrapped under the keyring like every other secret (a single row).
create table vault.fingerprint_key (
  singleton boolean primary key default true check (singleton),
  key_version integer not null check (key_version >= 1),
  wrapped_key bytea not null check (length(wrapped_key) = 61),
  ciphertext bytea not null check (length(ciphertext) = 61),
  created_at timestamptz not null default now(),
  rewrapped_at timestamptz
);

-- PCI DSS 10.2: every access to card data (who, when, which token, why), never the data itself.
create table vault.access_log (
  id bigint generated always as identity primary key,
  occurred_at timestamptz not null,
  actor text not null check (length(actor) between 1 and 255),
  action text not null check (action in ('tokenize', 'detokenize', 'rotate_key')),
  merchant_id text check (length(merchant_id) between 1 and 255),
  token_id text check (token_id ~ '^tok_[0-9a-hjkmnp-tv-z]{26}$'),
  purpose text check (purpose in ('authorization', 'capture', 'refund', 'void')),
  outcome text not null check (outcome in ('ok', 'not_found', 'failed')),
  cvc_released boolean not null default false,
  detail text check (length(detail) <= 500),
  check ((action = 'detokenize') = (purpose is not null)),
  check (action = 'rotate_key' or merchant_id is not null),
  check (not cvc_released or purpose = 'authorization')
);
create index access_log_token on vault.access_log (token_id, occurred_at);

-- The audit trail is append-only.
create function vault.refuse_change() returns trigger language plpgsql as $$
begin
  raise exception 'vault.access_log is append-only';
end $$;
create trigger access_log_append_only before update or delete on vault.access_log
  for each row execute function vault.refuse_change();
