-- Resolving a reconciliation exception may post one adjustment journal (ADR 20): the acquirer paid
-- a different amount than PayFlow recorded (`acquirer_difference`, on an amount_mismatch), or took a
-- chargeback back that the merchant bears (`merchant_chargeback`, on a chargeback). The journal id is
-- unique, so an exception adjusts the ledger at most once; a resolved exception never changes again.
alter table settlement.reconciliation_results
  add column adjustment text check (adjustment is null or adjustment in ('acquirer_difference', 'merchant_chargeback')),
  add column adjustment_journal_id text unique
    check (adjustment_journal_id is null or adjustment_journal_id ~ '^[A-Za-z0-9_.:-]{1,64}$'),
  add column adjustment_amount bigint check (adjustment_amount is null or adjustment_amount <> 0),
  add constraint reconciliation_results_adjustment_complete check (
    (adjustment is null) = (adjustment_journal_id is null) and (adjustment is null) = (adjustment_amount is null)),
  add constraint reconciliation_results_adjustment_resolved check (adjustment is null or status = 'resolved'),
  add constraint reconciliation_results_adjustment_fits check (
    adjustment is null
    or (adjustment = 'acquirer_difference' and outcome = 'amount_mismatch')
    or (adjustment = 'merchant_chargeback' and outcome = 'chargeback' and adjustment_amount > 0));

create function settlement.reconciliation_results_resolved_once() returns trigger
  language plpgsql as $$
begin
  if old.status = 'resolved' then
    raise exception 'reconciliation exception % is already resolved', old.id using errcode = 'P0001';
  end if;
  return case when tg_op = 'DELETE' then old else new end;
end;
$$;
create trigger reconciliation_results_resolved_once before update or delete on settlement.reconciliation_results
  for each row execute function settlement.reconciliation_results_resolved_once();
