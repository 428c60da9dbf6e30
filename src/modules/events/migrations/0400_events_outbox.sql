-- The transactional outbox: modules stage domain events here in the same transaction as the state
-- change they describe. A relay later assigns each row a log position (serially, in the order rows
-- become visible, i.e. commit order) and marks it published.
create schema events;

create table events.outbox (
  -- Staging order; not commit order (sequence values are taken before commit), hence `position`.
  staged_sequence bigint generated always as identity primary key,
  event_id text not null unique check (event_id ~ '^evt_[0-9a-hjkmnp-tv-z]{26}$'),
  type text not null check (type ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+\.v[1-9][0-9]{0,3}$'),
  aggregate_id text not null check (aggregate_id ~ '^[A-Za-z0-9_.:-]{1,255}$'),
  merchant_id text not null check (merchant_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  payload jsonb not null check (jsonb_typeof(payload) = 'object' and octet_length(payload::text) <= 65536),
  occurred_at timestamptz not null,
  staged_at timestamptz not null default now(),
  -- Assigned by the relay, once, with published_at.
  position bigint unique check (position > 0),
  published_at timestamptz,
  constraint outbox_published_has_position check ((position is null) = (published_at is null))
);

-- The relay's work list: rows not yet given a position, in staging order.
create index outbox_unpublished on events.outbox (staged_sequence) where position is null;
create index outbox_aggregate on events.outbox (aggregate_id, staged_sequence);
