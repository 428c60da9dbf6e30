-- Reconciliation adjustments (ADR 20): an operator resolving a difference found in the acquirer's
-- settlement report posts one correcting journal (the ledger stays append-only: a correction is a
-- new journal). It concerns money between PayFlow, the acquirer and a merchant, not one payment.
alter table ledger.journals drop constraint journals_kind_check;
alter table ledger.journals add constraint journals_kind_check check (
  kind in (
    'authorization_hold',
    'capture',
    'void',
    'expiry',
    'refund',
    'fee',
    'acquirer_settlement',
    'merchant_payout',
    'reconciliation_adjustment'
  )
);
alter table ledger.journals drop constraint journals_payment_kinds;
alter table ledger.journals add constraint journals_payment_kinds check (
  payment_id is not null or kind in ('fee', 'acquirer_settlement', 'merchant_payout', 'reconciliation_adjustment')
);
