-- Identity: merchants, the API clients that act for them (or for operators and services), and the
-- asymmetric keys that sign access tokens. Client secrets are stored only as scrypt hashes.
create schema identity;

create table identity.merchants (
  merchant_id text primary key check (merchant_id ~ '^mer_[0-9a-hjkmnp-tv-z]{26}$'),
  name text not null check (length(btrim(name)) between 1 and 200),
  created_at timestamptz not null default now()
);

create table identity.clients (
  client_id text primary key check (client_id ~ '^(cli|pk)_[0-9a-hjkmnp-tv-z]{26}$'),
  role text not null check (role in ('merchant', 'publishable', 'admin', 'service')),
  merchant_id text references identity.merchants (merchant_id),
  -- scrypt$N$r$p$salt$hash (base64url); publishable clients are public and have none.
  secret_hash text check (secret_hash ~ '^scrypt\$[0-9]+\$[0-9]+\$[0-9]+\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$'),
  scopes text[] not null check (cardinality(scopes) between 1 and 50),
  description text check (description is null or length(description) <= 200),
  created_at timestamptz not null default now(),
  secret_rotated_at timestamptz,
  disabled_at timestamptz,
  -- Merchant and publishable clients act for exactly one merchant; admin and service for none.
  check ((role in ('merchant', 'publishable')) = (merchant_id is not null)),
  -- Only publishable clients are public (no secret); every other client is confidential.
  check ((role = 'publishable') = (secret_hash is null)),
  check ((role = 'publishable') = (client_id like 'pk\_%')),
  check (secret_rotated_at is null or secret_rotated_at >= created_at)
);

create index clients_merchant_idx on identity.clients (merchant_id) where merchant_id is not null;

create table identity.signing_keys (
  kid text primary key check (kid ~ '^key_[0-9a-hjkmnp-tv-z]{26}$'),
  algorithm text not null check (algorithm in ('ES256', 'EdDSA')),
  public_jwk jsonb not null check (jsonb_typeof(public_jwk) = 'object' and not public_jwk ? 'd'),
  private_jwk jsonb not null check (jsonb_typeof(private_jwk) = 'object' and private_jwk ? 'd'),
  status text not null check (status in ('active', 'retiring', 'retired')),
  created_at timestamptz not null default now(),
  -- When a key stops signing it keeps verifying until not_after (the last token it signed expires).
  retiring_at timestamptz,
  not_after timestamptz,
  retired_at timestamptz,
  check ((status = 'active') = (retiring_at is null and not_after is null)),
  check (status = 'active' or (retiring_at is not null and not_after is not null and not_after >= retiring_at)),
  check ((status = 'retired') = (retired_at is not null))
);

-- Exactly one key signs at a time.
create unique index signing_keys_one_active on identity.signing_keys (status) where status = 'active';
