// Background work besides the janitor: the expiry of authorizations and the reaper of finished
// idempotency keys older than their retention. An expiring payment owes the acquirer a void of its
// authorization in the transaction that expires it (ADR 14), sent by the reversal job: an AUTHORIZED
// one releases its ledger hold and has the approved authorization voided, so the payer's funds are
// no longer held at the issuer; a bank redirect still waiting for its payer has its pending
// authorization cancelled, so the payer can no longer approve it.
import assert from 'node:assert/strict';
import { deleteFinishedKeysBefore } from '../../../platform/idempotency.ts';
import { transition } from '../domain/payment-state.ts';
import { lockExpiredAuthorizations, updatePayment } from '../infra/payment-repository.ts';
import { oweReversal } from './acquirer-reversals.ts';
import type { PaymentsDependencies } from './dependencies.ts';
import { releaseAuthorization } from './void-payment.ts';

export const expiryBatchMax = 100;
export const reaperBatchMax = 1_000;

/** Expires authorizations past their validity, one batch per transaction; returns how many. */
export async function expireAuthorizations(dependencies: PaymentsDependencies): Promise<number> {
  const now = dependencies.clock.now();
  return dependencies.sql.begin(async (transaction) => {
    const payments = await lockExpiredAuthorizations(transaction, now, expiryBatchMax);
    for (const payment of payments) {
      const moved = transition(payment.status, 'expire');
      assert.ok(moved.ok, `an expiring ${payment.status} payment cannot expire`);
      const updated = await updatePayment(
        transaction,
        payment,
        { status: moved.next, expires_at: null, next_action: null },
        now,
      );
      assert.ok(updated, 'the payment changed under its row lock');
      // Both expiring statuses (AUTHORIZED, REQUIRES_ACTION) hold an authorization at the acquirer.
      assert.ok(
        payment.acquirerAuthorizationId,
        `an expiring ${payment.status} payment has an acquirer authorization`,
      );
      await oweReversal(transaction, dependencies, payment, payment.acquirerAuthorizationId, 'expiry');
      await releaseAuthorization(
        transaction,
        dependencies,
        'expiry',
        moved.ledgerEffect,
        payment,
        updated,
        now,
      );
    }
    return payments.length;
  });
}

/** Deletes finished keys older than the retention; unfinished keys stay until resolved. */
export async function reapIdempotencyKeys(dependencies: PaymentsDependencies): Promise<number> {
  const before = new Date(dependencies.clock.now().getTime() - dependencies.settings.keyRetentionMs);
  return deleteFinishedKeysBefore(dependencies.sql, 'payments.idempotency_keys', before, reaperBatchMax);
}
