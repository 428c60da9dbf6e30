-- Reconciliation of the acquirer's settlement report (ADR 20). Items learn the id the acquirer's
-- report names them by (a capture: its payment id; a refund: its refund id).
alter table settlement.items add column operation_id text;
-- Settled items refuse every change (items_settle_once); this backfill is the one exception.
alter table settlement.items disable trigger items_settle_once;
update settlement.items set operation_id = payment_id where kind = 'capture';
alter table settlement.items enable trigger items_settle_once;
create index items_operation on settlement.items (operation_id, kind);

-- One run per report file: the same bytes twice are one run (report_sha256 unique).
create table settlement.reconciliation_runs (
  id text primary key check (id ~ '^rcn_[0-9a-hjkmnp-tv-z]{26}$'),
  report_sha256 text not null unique check (report_sha256 ~ '^[0-9a-f]{64}$'),
  source text not null check (length(source) between 1 and 255),
  report_date date,
  row_count integer not null check (row_count >= 0),
  counts jsonb not null,
  created_at timestamptz not null
);

-- One result per report row (and per expected item the report lacks). Everything but `matched` is
-- an exception an operator resolves with a reason.
create table settlement.reconciliation_results (
  id text primary key check (id ~ '^rcx_[0-9a-hjkmnp-tv-z]{26}$'),
  run_id text not null references settlement.reconciliation_runs (id),
  line integer check (line is null or line > 0),
  outcome text not null check (outcome in ('matched', 'amount_mismatch', 'unexpected_in_report',
    'duplicate_in_report', 'missing_in_report', 'chargeback', 'malformed')),
  reference text check (reference is null or length(reference) <= 255),
  item_id text,
  currency text check (currency is null or currency ~ '^[A-Z]{3}$'),
  expected_amount bigint,
  reported_amount bigint,
  detail text check (detail is null or length(detail) <= 500),
  status text not null check (status in ('none', 'open', 'resolved')),
  resolution text check (resolution is null or length(resolution) between 1 and 500),
  resolved_at timestamptz,
  check ((outcome = 'matched') = (status = 'none')),
  check ((status = 'resolved') = (resolved_at is not null) and (status = 'resolved') = (resolution is not null))
);
create index reconciliation_results_run on settlement.reconciliation_results (run_id, line);
create index reconciliation_results_open on settlement.reconciliation_results (status) where status = 'open';
