-- Chunked, restartable reconciliation (ADR 20). A report is imported as a batch job instance
-- (`reconciliation`, its SHA-256): each chunk of rows commits with its results and the job's
-- checkpoint (Spring Batch's StepExecution: rows read, results written, malformed rows skipped, and
-- the execution context needed to resume: the last committed line and the report's days so far).
alter table settlement.job_runs
  add column read_count bigint not null default 0 check (read_count >= 0),
  add column write_count bigint not null default 0 check (write_count >= 0),
  add column skip_count bigint not null default 0 check (skip_count >= 0),
  add column checkpoint jsonb;

-- A run exists from its first chunk on; its results are visible while it runs. `completed` once its
-- missing items, counts and `reconciliation.completed.v1` have committed. Earlier runs completed.
alter table settlement.reconciliation_runs
  add column status text not null default 'completed' check (status in ('running', 'completed', 'failed')),
  add column job_id text references settlement.job_runs (id);

-- The end of a run looks up which items its rows named; a later run resolves an item's missing_in_report.
create index reconciliation_results_item on settlement.reconciliation_results (item_id) where item_id is not null;
