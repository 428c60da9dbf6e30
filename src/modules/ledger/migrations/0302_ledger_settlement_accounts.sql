-- Settlement and payouts (ADR 19): three more accounts per merchant and currency.
--   acquirer_costs (debit): what the acquirer kept (interchange, scheme fees, markup): an expense.
--   merchant_available (credit): settled money owed to the merchant, not yet paid out.
--   payout_in_transit (credit): paid out to the merchant's bank, not yet confirmed arrived.
alter table ledger.accounts drop constraint accounts_role_check;
alter table ledger.accounts add constraint accounts_role_check check (
  role in (
    'authorization_holds',
    'authorization_hold_contra',
    'receivable_from_acquirer',
    'payable',
    'refunds',
    'fee_revenue',
    'bank',
    'acquirer_costs',
    'merchant_available',
    'payout_in_transit'
  )
);
alter table ledger.accounts drop constraint accounts_normal_side_matches;
alter table ledger.accounts add constraint accounts_normal_side_matches check (
  normal_side = case
    when role in ('authorization_holds', 'receivable_from_acquirer', 'bank', 'acquirer_costs') then 'debit'
    else 'credit'
  end
);
