-- Operations PayFlow owes the acquirer, sent outside any transaction by a retrying job under one
-- reference per payment and operation that the acquirer deduplicates on (ADR 14, ADR 17). They
-- replace payments.acquirer_reversals (0504), whose rows move here as `void` operations:
-- * void: the void of an authorization PayFlow finished without taking the money (a bank redirect
--   voided or expired while its payer had not decided, an AUTHORIZED payment that expired, an
--   approval notified after the payment was VOIDED, EXPIRED or FAILED). Reference `pay_….reversal`.
--   The payment never changes because of it.
-- * capture: the capture of a bank redirect created with `capture: true`, owed by the transaction
--   that makes it AUTHORIZED when its payer approves. Reference `pay_….approval-capture`. While it is
--   pending the payment carries pending_operation = 'capture' (no merchant capture or void, no
--   expiry); its success makes the payment CAPTURED as a merchant capture does.
create table payments.owed_acquirer_operations (
  payment_id text not null references payments.payments (id),
  operation text not null check (operation in ('void', 'capture')),
  merchant_id text not null check (length(merchant_id) between 1 and 64),
  acquirer_authorization_id text not null check (length(acquirer_authorization_id) between 1 and 128),
  reference text not null unique check (
    reference = payment_id || case operation when 'void' then '.reversal' else '.approval-capture' end),
  reason text not null check (
    (operation = 'void' and reason in ('void', 'expiry', 'late_approval'))
    or (operation = 'capture' and reason = 'capture_on_approval')),
  -- The amount a capture takes (the whole authorization); a void has none.
  amount bigint check (amount is null or amount > 0),
  -- reversed (void) / captured (capture): the acquirer did it. nothing_to_reverse (void): the acquirer
  -- holds nothing. declined (capture): the acquirer refused it for good; the payment stays AUTHORIZED
  -- and the merchant decides. cancelled (capture): the payment no longer awaited it, nothing sent.
  -- manual_review: an answer PayFlow cannot act on, or the schedule is spent.
  status text not null check (status in ('pending', 'reversed', 'nothing_to_reverse', 'captured',
    'declined', 'cancelled', 'manual_review')),
  -- The acquirer's id of the void or capture it made.
  acquirer_operation_id text check (acquirer_operation_id is null or length(acquirer_operation_id) between 1 and 128),
  decline_code text check (decline_code is null or length(decline_code) <= 64),
  -- Failed attempts so far (they follow PAYMENT_INQUIRY_SCHEDULE), and when the next one is due; a
  -- worker sending it pushes next_attempt_at forward by the key lock timeout (its lease).
  attempts integer not null default 0 check (attempts >= 0),
  next_attempt_at timestamptz,
  last_error text check (last_error is null or length(last_error) <= 200),
  -- Approvals the acquirer notified after the payment was finished (voids only): an audit count.
  late_approvals integer not null default 0 check (late_approvals >= 0),
  last_late_approval_at timestamptz,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  completed_at timestamptz,
  primary key (payment_id, operation),
  check ((operation = 'capture') = (amount is not null)),
  check (operation = 'void' or status in ('pending', 'captured', 'declined', 'cancelled', 'manual_review')),
  check (operation = 'capture' or status in ('pending', 'reversed', 'nothing_to_reverse', 'manual_review')),
  check ((status = 'pending') = (next_attempt_at is not null)),
  check ((status in ('reversed', 'nothing_to_reverse', 'captured', 'declined', 'cancelled')) = (completed_at is not null)),
  check ((status in ('reversed', 'captured')) = (acquirer_operation_id is not null)),
  check (status not in ('nothing_to_reverse', 'declined') or decline_code is not null),
  check (operation = 'void' or late_approvals = 0),
  check ((late_approvals = 0) = (last_late_approval_at is null))
);

insert into payments.owed_acquirer_operations (payment_id, operation, merchant_id, acquirer_authorization_id,
  reference, reason, amount, status, acquirer_operation_id, decline_code, attempts, next_attempt_at, last_error,
  late_approvals, last_late_approval_at, created_at, updated_at, completed_at)
select payment_id, 'void', merchant_id, acquirer_authorization_id, reference, reason, null, status,
  acquirer_void_id, decline_code, attempts, next_attempt_at, last_error, late_approvals, last_late_approval_at,
  created_at, updated_at, completed_at
from payments.acquirer_reversals;

drop table payments.acquirer_reversals;

create index owed_acquirer_operations_due on payments.owed_acquirer_operations (next_attempt_at)
  where status = 'pending';
