// Payouts after settlement (ADR 19): pending → in_transit (sent to the bank, by reference, so a
// resend after a crash creates nothing twice) → paid (Dr payout_in_transit, Cr bank) or failed
// (Dr payout_in_transit, Cr merchant_available: the money is available again), each final step one
// transaction with its journal and `payout.paid.v1` / `payout.failed.v1`.
import type { TransactionSql } from '../../../platform/db/client.ts';
import { totalToJson } from '../../../platform/money.ts';
import { payoutJournal } from '../../ledger/index.ts';
import type { BankPort } from '../infra/bank-client.ts';
import { lockPayout, openPayouts, updatePayout, type PayoutRow } from '../infra/settlement-repository.ts';
import type { SettlementDependencies } from './settlement-job.ts';

export const payoutBatchMax = 100;

/** One pass over open payouts; returns how many changed state. */
export async function processPayouts(
  dependencies: SettlementDependencies,
  bank: BankPort,
  signal?: AbortSignal,
): Promise<number> {
  let changed = 0;
  for (const payout of await openPayouts(dependencies.sql, payoutBatchMax)) {
    if (signal?.aborted) break;
    try {
      if (payout.status === 'pending') {
        const state = await bank.createPayout({
          reference: payout.id,
          amount: payout.amount,
          currency: payout.currency,
          destination: payout.merchant_id,
        });
        await dependencies.sql.begin(async (transaction) => {
          const current = await lockPayout(transaction, payout.id);
          if (current?.status !== 'pending') return;
          await updatePayout(transaction, payout.id, { status: 'in_transit', now: dependencies.clock.now() });
        });
        changed += 1;
        if (state.status !== 'in_transit') changed += await finish(dependencies, payout, state);
      } else {
        const state = await bank.inquire(payout.id);
        if (state === undefined) {
          // The bank never got it (lost between our commit and its answer): send it again.
          await dependencies.sql.begin((transaction) =>
            updatePayout(transaction, payout.id, { status: 'pending', now: dependencies.clock.now() }),
          );
          continue;
        }
        if (state.status !== 'in_transit') changed += await finish(dependencies, payout, state);
      }
    } catch (error) {
      dependencies.log.warn({ err: error, payoutId: payout.id }, 'payout: bank call failed; retried later');
    }
  }
  return changed;
}

async function finish(
  dependencies: SettlementDependencies,
  payout: PayoutRow,
  state: { status: 'paid' | 'failed' | 'in_transit'; failureReason?: string },
): Promise<number> {
  const status = state.status;
  if (status === 'in_transit') return 0;
  return dependencies.sql.begin(async (transaction: TransactionSql) => {
    const current = await lockPayout(transaction, payout.id);
    if (!current || (current.status !== 'in_transit' && current.status !== 'pending')) return 0;
    const now = dependencies.clock.now();
    const failureReason = state.failureReason ?? 'bank_rejected';
    await dependencies.ledger.post(
      transaction,
      payoutJournal(current.merchant_id, current.currency, current.amount, status, {
        journalId: `${current.id}:${status}`,
        occurredAt: now,
      }),
    );
    await updatePayout(transaction, current.id, {
      status,
      ...(status === 'failed' && { failureReason }),
      now,
    });
    await dependencies.stage(transaction, {
      type: status === 'paid' ? 'payout.paid.v1' : 'payout.failed.v1',
      aggregateId: current.id,
      merchantId: current.merchant_id,
      payload: {
        payoutId: current.id,
        currency: current.currency,
        amount: totalToJson(current.amount),
        ...(status === 'failed' && { failureReason }),
      },
      occurredAt: now,
    });
    return 1;
  });
}
