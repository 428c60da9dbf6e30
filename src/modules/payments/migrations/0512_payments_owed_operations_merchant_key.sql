-- Merchant id in the keys of the acquirer operations PayFlow owes (ADR 35). The merchant goes last, so
-- the lookups by payment and by reference use the same one index as before. payments.payments and
-- payments.refunds keep their keys for now (docs/deploy.md: the authorize path finds a payment by id).
alter table payments.owed_acquirer_operations
  drop constraint owed_acquirer_operations_pkey,
  drop constraint owed_acquirer_operations_reference_key;
alter table payments.owed_acquirer_operations
  add constraint owed_acquirer_operations_pkey primary key (payment_id, operation, merchant_id),
  add constraint owed_acquirer_operations_reference_key unique (reference, merchant_id);
