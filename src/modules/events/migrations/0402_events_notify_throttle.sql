-- NOTIFY serializes the commits of all notifying transactions (PostgreSQL takes one cluster-wide lock
-- at commit for them), which would cap payment throughput. Only one transaction at a time now
-- notifies: the one that wins a transaction-scoped advisory lock. A transaction that loses commits
-- without notifying; its row is relayed by the next wake-up or by the polling fallback.
create or replace function events.notify_outbox() returns trigger
  language plpgsql as $$
begin
  if pg_try_advisory_xact_lock(7310400002) then
    perform pg_notify('payflow_events_outbox', '');
  end if;
  return null;
end;
$$;
