-- The postgres event bus: the relay copies outbox rows into an append-only log, giving each a
-- position serially (one relay at a time, under an advisory lock), so positions follow commit order
-- and have no gaps. Consumer groups read the log from their offset; the inbox records what a group
-- has handled (one effect per event per group); failed events wait in `retries` with backoff, and
-- after the last attempt land in `dead_letters` until an operator replays them.

create table events.log (
  position bigint primary key check (position > 0),
  event_id text not null unique check (event_id ~ '^evt_[0-9a-hjkmnp-tv-z]{26}$'),
  type text not null check (type ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+\.v[1-9][0-9]{0,3}$'),
  aggregate_id text not null check (aggregate_id ~ '^[A-Za-z0-9_.:-]{1,255}$'),
  merchant_id text not null check (merchant_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  payload jsonb not null check (jsonb_typeof(payload) = 'object'),
  occurred_at timestamptz not null,
  published_at timestamptz not null default now()
);

create function events.refuse_change() returns trigger
  language plpgsql as $$
begin
  raise exception 'events.% is append-only: % is not allowed', tg_table_name, tg_op using errcode = 'P0001';
end;
$$;

create trigger log_append_only before update or delete on events.log
  for each row execute function events.refuse_change();
create trigger log_no_truncate before truncate on events.log
  for each statement execute function events.refuse_change();

-- The last position handed out; one row. Its row lock is a second guard beside the advisory lock.
create table events.relay_state (
  singleton boolean primary key default true check (singleton),
  last_position bigint not null check (last_position >= 0)
);
insert into events.relay_state (singleton, last_position) values (true, 0);

create table events.consumer_offsets (
  consumer_group text primary key check (consumer_group ~ '^[a-z][a-z0-9_.-]{0,63}$'),
  position bigint not null default 0 check (position >= 0),
  updated_at timestamptz not null default now()
);

create table events.inbox (
  consumer_group text not null check (consumer_group ~ '^[a-z][a-z0-9_.-]{0,63}$'),
  event_id text not null,
  handled_at timestamptz not null default now(),
  primary key (consumer_group, event_id)
);

create table events.retries (
  consumer_group text not null check (consumer_group ~ '^[a-z][a-z0-9_.-]{0,63}$'),
  position bigint not null references events.log (position),
  aggregate_id text not null,
  -- 0: waiting behind an earlier event of the same aggregate, or replayed from the dead letters.
  attempts integer not null check (attempts >= 0),
  next_attempt_at timestamptz not null,
  last_error text check (last_error is null or length(last_error) <= 2000),
  primary key (consumer_group, position)
);

create index retries_aggregate on events.retries (consumer_group, aggregate_id, position);

create table events.dead_letters (
  id text primary key check (id ~ '^dlq_[0-9a-hjkmnp-tv-z]{26}$'),
  topic text not null default 'payment.events.dlq' check (topic ~ '^[a-z][a-z0-9_.-]{0,127}$'),
  consumer_group text not null check (consumer_group ~ '^[a-z][a-z0-9_.-]{0,63}$'),
  position bigint not null references events.log (position),
  error text not null check (length(error) between 1 and 2000),
  attempts integer not null check (attempts >= 1),
  dead_at timestamptz not null default now(),
  replayed_at timestamptz,
  check (replayed_at is null or replayed_at >= dead_at)
);

-- An event is dead at most once per group at a time.
create unique index dead_letters_open on events.dead_letters (consumer_group, position) where replayed_at is null;

-- Wake the relay when an outbox row commits (NOTIFY is delivered at commit; polling is the fallback).
create function events.notify_outbox() returns trigger
  language plpgsql as $$
begin
  perform pg_notify('payflow_events_outbox', '');
  return null;
end;
$$;

create trigger outbox_notify after insert on events.outbox
  for each statement execute function events.notify_outbox();
