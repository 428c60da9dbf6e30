-- The fraud screening's decision on a payment (ADR 21) and, when it sent the payment to review, the
-- review's state: 'pending' refuses captures (409 payment_in_review) until approved or rejected.
alter table payments.payments
  add column risk jsonb,
  add column review text check (review is null or review in ('pending', 'approved', 'rejected'));
create index payments_in_review on payments.payments (merchant_id, created_at) where review = 'pending';
