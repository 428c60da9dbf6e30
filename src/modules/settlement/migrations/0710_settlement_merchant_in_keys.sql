-- Merchant id in the keys of settlement's per-merchant tables (ADR 35): items, batches and payouts.
-- The merchant goes last, so lookups by id or by journal use the same one index as before; an item's
-- batch is of the item's merchant (the foreign key carries it). Job runs and reconciliation runs and
-- results are platform-wide (one acquirer report covers every merchant) and keep their keys.
alter table settlement.items
  drop constraint items_batch_id_fkey,
  drop constraint items_pkey;
alter table settlement.batches
  drop constraint batches_pkey,
  drop constraint batches_journal_id_key;
alter table settlement.batches
  add constraint batches_pkey primary key (id, merchant_id),
  add constraint batches_journal_id_key unique (journal_id, merchant_id);
alter table settlement.items
  add constraint items_pkey primary key (id, merchant_id),
  add constraint items_batch foreign key (batch_id, merchant_id) references settlement.batches (id, merchant_id);

alter table settlement.payouts drop constraint payouts_pkey;
alter table settlement.payouts add constraint payouts_pkey primary key (id, merchant_id);
