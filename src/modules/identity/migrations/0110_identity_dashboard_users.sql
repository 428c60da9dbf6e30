-- Dashboard users (ADR 24): people who sign in to a merchant's dashboard with an email and a
-- password (stored only as an scrypt hash, like client secrets), and their cookie sessions.
create table identity.dashboard_users (
  user_id text primary key check (user_id ~ '^usr_[0-9a-hjkmnp-tv-z]{26}$'),
  merchant_id text not null references identity.merchants (merchant_id),
  -- Stored lower-cased: one address signs in to one account.
  email text not null unique check (email = lower(email) and email ~ '^[^@\s]{1,64}@[^@\s]{1,253}$'),
  password_hash text not null check (password_hash ~ '^scrypt\$[0-9]+\$[0-9]+\$[0-9]+\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$'),
  role text not null check (role in ('owner', 'developer', 'analyst')),
  failed_sign_ins integer not null default 0 check (failed_sign_ins between 0 and 1000),
  locked_until timestamptz,
  created_at timestamptz not null,
  disabled_at timestamptz
);

create index dashboard_users_merchant_idx on identity.dashboard_users (merchant_id);

-- A session is known by the SHA-256 of its cookie value (the cookie itself is never stored), and
-- carries the SHA-256 of its CSRF token.
create table identity.dashboard_sessions (
  session_hash text primary key check (session_hash ~ '^[0-9a-f]{64}$'),
  user_id text not null references identity.dashboard_users (user_id),
  csrf_hash text not null check (csrf_hash ~ '^[0-9a-f]{64}$'),
  created_at timestamptz not null,
  expires_at timestamptz not null,
  revoked_at timestamptz,
  check (expires_at > created_at)
);

create index dashboard_sessions_user_idx on identity.dashboard_sessions (user_id);
