-- A detokenize writes its audit row in the statement that reads the token and takes its CVC: the
-- row is written before anything leaves the vault (log before release), in one round trip and one
-- commit instead of a transaction of four (ADR 18). Its outcome is 'released' (the record was read
-- out for the caller; `cvc_released` says a live CVC was taken with it) or 'not_found'. Decryption
-- happens after, in the vault's process: when it fails, a 'failed' row with the reason follows for
-- the same token, and nothing was handed over. Earlier detokenize rows say 'ok' for 'released'.
alter table vault.access_log drop constraint access_log_outcome_check;
alter table vault.access_log add constraint access_log_outcome_check
  check (outcome in ('ok', 'not_found', 'failed', 'released'));
