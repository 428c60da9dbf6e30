-- The report row a result answers, by kind and acquirer operation (`capture:op_…`), on the first row
-- of that key in a run: the duplicate finder asks the database which keys of a chunk an earlier chunk
-- named, instead of keeping every key of the report in memory (issue 11: memory flat in N).
alter table settlement.reconciliation_results add column row_key text
  check (row_key is null or length(row_key) <= 300);
create index reconciliation_results_run_key on settlement.reconciliation_results (run_id, row_key)
  where row_key is not null;
