-- Voids PayFlow owes the acquirer for payments it finished without taking the money: a bank redirect
-- voided or expired while its payer had not decided (its pending authorization must be cancelled,
-- or the payer could still approve it), and an approval the acquirer reported after the payment was
-- VOIDED, EXPIRED or FAILED (the approved authorization must be voided, or the payer's funds stay
-- held). One row per payment, sent under one reference (`pay_….reversal`) that the acquirer
-- deduplicates on. The payment row never changes because of it, and the ledger never moves: PayFlow
-- held nothing.
create table payments.acquirer_reversals (
  payment_id text primary key references payments.payments (id),
  merchant_id text not null check (length(merchant_id) between 1 and 64),
  acquirer_authorization_id text not null check (length(acquirer_authorization_id) between 1 and 128),
  reference text not null unique check (reference = payment_id || '.reversal'),
  reason text not null check (reason in ('void', 'expiry', 'late_approval')),
  -- reversed: the acquirer voided it; nothing_to_reverse: the acquirer holds nothing (already voided,
  -- or never approved); manual_review: an answer PayFlow cannot act on, or the schedule is spent.
  status text not null check (status in ('pending', 'reversed', 'nothing_to_reverse', 'manual_review')),
  acquirer_void_id text check (acquirer_void_id is null or length(acquirer_void_id) between 1 and 128),
  decline_code text check (decline_code is null or length(decline_code) <= 64),
  -- Failed attempts so far (they follow PAYMENT_INQUIRY_SCHEDULE), and when the next one is due; a
  -- worker sending it pushes next_attempt_at forward by the key lock timeout (its lease).
  attempts integer not null default 0 check (attempts >= 0),
  next_attempt_at timestamptz,
  last_error text check (last_error is null or length(last_error) <= 200),
  -- Approvals the acquirer notified after the payment was finished: an audit count, never a state change.
  late_approvals integer not null default 0 check (late_approvals >= 0),
  last_late_approval_at timestamptz,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  completed_at timestamptz,
  check ((status = 'pending') = (next_attempt_at is not null)),
  check ((status in ('reversed', 'nothing_to_reverse')) = (completed_at is not null)),
  check (status <> 'reversed' or acquirer_void_id is not null),
  check (status <> 'nothing_to_reverse' or decline_code is not null),
  check ((late_approvals = 0) = (last_late_approval_at is null))
);

create index acquirer_reversals_due on payments.acquirer_reversals (next_attempt_at) where status = 'pending';
