-- One first row per report row key in a run, a guarantee of the database instead of the import's
-- word alone (issue 11): the duplicate finder gives a row key (kind and acquirer operation) to the
-- first row of that key in a run only (a repeat is duplicate_in_report, keyless), and asks the index
-- which keys of a chunk an earlier chunk named. The unique index takes the place of 0705's plain one
-- (same columns, same rows: no extra write per result). Rows written before 0705 have no key and are
-- outside it. Should a run hold one key twice, this migration fails naming it rather than guess which
-- row is the first.
create unique index reconciliation_results_run_key_once on settlement.reconciliation_results (run_id, row_key)
  where row_key is not null;
drop index settlement.reconciliation_results_run_key;

-- By item, only the `missing_in_report` results are looked up (an earlier report's open exception
-- that a later row answers as settled late); the end of a run finds the items its rows named by
-- their row keys (0705). Every matched row had an entry here that nothing read: one index write less
-- per result.
create index reconciliation_results_missing_item on settlement.reconciliation_results (item_id)
  where outcome = 'missing_in_report';
drop index settlement.reconciliation_results_item;
