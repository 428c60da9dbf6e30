-- Reconciliation compares what the acquirer kept of each capture (gross less net in its report) with
-- what PayFlow expected (ADR 20): a difference is a `cost_mismatch`, adjustable as an
-- `acquirer_difference` like an amount difference.
alter table settlement.reconciliation_results drop constraint reconciliation_results_outcome_check;
alter table settlement.reconciliation_results add constraint reconciliation_results_outcome_check check (
  outcome in ('matched', 'amount_mismatch', 'cost_mismatch', 'unexpected_in_report', 'duplicate_in_report',
    'missing_in_report', 'chargeback', 'malformed'));
alter table settlement.reconciliation_results drop constraint reconciliation_results_adjustment_fits;
alter table settlement.reconciliation_results add constraint reconciliation_results_adjustment_fits check (
  adjustment is null
  or (adjustment = 'acquirer_difference' and outcome in ('amount_mismatch', 'cost_mismatch'))
  or (adjustment = 'merchant_chargeback' and outcome = 'chargeback' and adjustment_amount > 0));
