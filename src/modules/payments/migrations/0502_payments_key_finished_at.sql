-- Retention of a finished idempotency key counts from when it finished, not from when it was created:
-- a key resolved late (an unknown outcome settled by the janitor a day later) must still answer
-- the client's retries for the whole retention, or a retry would create a second payment.
alter table payments.idempotency_keys add column finished_at timestamptz;

update payments.idempotency_keys set finished_at = updated_at where recovery_point = 'finished';

alter table payments.idempotency_keys
  add constraint idempotency_keys_finished_at check ((recovery_point = 'finished') = (finished_at is not null));

drop index payments.idempotency_keys_finished_created;
create index idempotency_keys_finished_at on payments.idempotency_keys (finished_at)
  where recovery_point = 'finished';
