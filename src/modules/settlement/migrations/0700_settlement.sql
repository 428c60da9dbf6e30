-- Settlement and payouts (ADR 19): what PayFlow owes merchants once the acquirer pays.
create schema settlement;

-- A merchant's price: a percentage of each capture in basis points plus a fixed amount per currency
-- (minor units). Merchants without a row pay the configured default (SETTLEMENT_FEE_*).
create table settlement.pricing (
  merchant_id text primary key check (merchant_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  percent_bps integer not null check (percent_bps between 0 and 10000),
  fixed_fees jsonb not null default '{}' check (jsonb_typeof(fixed_fees) = 'object'),
  updated_at timestamptz not null
);

-- Job instances, Spring Batch style: one per (job name, parameters); a second run of a completed
-- instance changes nothing. Progress is recorded per committed chunk.
create table settlement.job_runs (
  id text primary key check (id ~ '^job_[0-9a-hjkmnp-tv-z]{26}$'),
  job_name text not null check (job_name ~ '^[a-z][a-z_.-]{0,63}$'),
  params_key text not null check (length(params_key) between 1 and 255),
  params jsonb not null,
  status text not null check (status in ('running', 'completed', 'failed')),
  chunks_done integer not null default 0 check (chunks_done >= 0),
  items_done bigint not null default 0 check (items_done >= 0),
  attempts integer not null default 1 check (attempts >= 1),
  summary jsonb,
  last_error text check (last_error is null or length(last_error) <= 2000),
  started_at timestamptz not null,
  updated_at timestamptz not null,
  finished_at timestamptz,
  unique (job_name, params_key),
  check ((status = 'completed') = (finished_at is not null))
);

-- One batch: the captures and refunds of one merchant and currency settled in one chunk of a run.
create table settlement.batches (
  id text primary key check (id ~ '^stl_[0-9a-hjkmnp-tv-z]{26}$'),
  run_id text not null references settlement.job_runs (id),
  acquirer text not null check (acquirer ~ '^[a-z][a-z0-9_-]{0,31}$'),
  settlement_date date not null,
  merchant_id text not null check (merchant_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  currency text not null check (currency ~ '^[A-Z]{3}$'),
  item_count integer not null check (item_count > 0),
  gross bigint not null check (gross >= 0),
  refunds bigint not null check (refunds >= 0),
  fees bigint not null check (fees >= 0),
  acquirer_costs bigint not null check (acquirer_costs >= 0),
  net bigint not null,
  journal_id text not null unique,
  created_at timestamptz not null,
  check (net = gross - refunds - fees)
);
create index batches_merchant on settlement.batches (merchant_id, created_at desc, id desc);

-- What is to settle: each capture and refund, from payments' events. A row is settled once: it gets
-- its batch in the transaction that posts the batch's journal, and never changes again.
create table settlement.items (
  id text primary key, -- the event id
  merchant_id text not null check (merchant_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  currency text not null check (currency ~ '^[A-Z]{3}$'),
  payment_id text not null,
  kind text not null check (kind in ('capture', 'refund')),
  amount bigint not null check (amount > 0),
  fee bigint check (fee is null or fee >= 0),
  acquirer_cost bigint check (acquirer_cost is null or acquirer_cost >= 0),
  occurred_at timestamptz not null,
  batch_id text references settlement.batches (id),
  check ((batch_id is null) = (fee is null) and (batch_id is null) = (acquirer_cost is null))
);
create index items_unsettled on settlement.items (merchant_id, currency, occurred_at) where batch_id is null;
create index items_batch on settlement.items (batch_id) where batch_id is not null;

create function settlement.items_settle_once() returns trigger
  language plpgsql as $$
begin
  if old.batch_id is not null then
    raise exception 'settlement item % is already settled in %', old.id, old.batch_id using errcode = 'P0001';
  end if;
  return new;
end;
$$;
create trigger items_settle_once before update or delete on settlement.items
  for each row execute function settlement.items_settle_once();

create table settlement.payouts (
  id text primary key check (id ~ '^po_[0-9a-hjkmnp-tv-z]{26}$'),
  run_id text references settlement.job_runs (id),
  merchant_id text not null check (merchant_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  currency text not null check (currency ~ '^[A-Z]{3}$'),
  amount bigint not null check (amount > 0),
  status text not null check (status in ('pending', 'in_transit', 'paid', 'failed')),
  failure_reason text check (failure_reason is null or length(failure_reason) <= 200),
  created_at timestamptz not null,
  updated_at timestamptz not null,
  sent_at timestamptz,
  finished_at timestamptz,
  unique (run_id, merchant_id, currency),
  check ((status in ('paid', 'failed')) = (finished_at is not null)),
  check (status <> 'failed' or failure_reason is not null)
);
create index payouts_merchant on settlement.payouts (merchant_id, created_at desc, id desc);
create index payouts_open on settlement.payouts (updated_at) where status in ('pending', 'in_transit');
