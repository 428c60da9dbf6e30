-- Keys waiting for an operator (ADR 34): unfinished, and no next inquiry because the schedule ran out.
-- The gauge payflow_payments_awaiting_resolution counts them at every scrape and the operator API lists
-- them; this partial index keeps both reads to the few such keys.
create index idempotency_keys_unresolved on payments.idempotency_keys (created_at)
  where recovery_point = 'phase1_committed' and next_attempt_at is null;
