// Operations whose acquirer outcome stayed unknown past the whole inquiry schedule wait for an operator
// (ADR 34). Listing them; resolving one: claim its key (only a key whose schedule ran out), then the
// operation's own continuation in `operator` mode (pipeline.ts): one inquiry by reference, never a
// re-send; the acquirer's answer is applied by the same phase 2 as the janitor's (state, journal,
// outbox event and the key's final answer in one transaction), and no record at the acquirer is a
// decline `acquirer_no_record`. No answer from the acquirer: the key is unlocked, nothing changed (503).
import type { Queryable } from '../../../platform/db/client.ts';
import { amountToJson } from '../../../platform/money.ts';
import { DomainError } from '../../../platform/errors.ts';
import {
  claimKeyOfResource,
  countUnresolvedKeys,
  keyOfResourceFinished,
  listUnresolvedKeys,
  type KeyOperation,
} from '../infra/idempotency-repository.ts';
import { findRefund } from '../infra/payment-repository.ts';
import type { PaymentsDependencies } from './dependencies.ts';
import { resumeKey } from './operations.ts';
import { getPayment } from './read-payments.ts';

/** Unresolved operations listed at most. */
export const unresolvedListMax = 200;

/** Every key operation, so the gauge has a series (0) for each from the start. */
export const keyOperations: readonly KeyOperation[] = ['authorize', 'capture', 'refund', 'void'];

export async function listUnresolved(sql: Queryable, limit = unresolvedListMax) {
  const keys = await listUnresolvedKeys(sql, Math.min(limit, unresolvedListMax));
  return keys.map((key) => ({
    paymentId: key.paymentId,
    resourceId: key.resourceId,
    merchantId: key.merchantId,
    operation: key.operation,
    amount: amountToJson(key.amount),
    currency: key.currency,
    paymentStatus: key.paymentStatus,
    inquiries: key.attempts,
    createdAt: key.createdAt.toISOString(),
    lastInquiryAt: key.lastAttemptAt.toISOString(),
  }));
}

/** Keys waiting for an operator, by operation (every operation present, 0 when none waits). */
export async function countUnresolved(sql: Queryable): Promise<Record<KeyOperation, number>> {
  const counts = await countUnresolvedKeys(sql);
  return Object.fromEntries(
    keyOperations.map((operation) => [operation, counts.get(operation) ?? 0]),
  ) as Record<KeyOperation, number>;
}

/**
 * Resolves the operation of a payment (or refund, by its id) that waits for an operator. Returns the
 * operation, the answer now stored on the idempotency key (what a client retry gets) and the payment.
 */
export async function resolveUnresolved(
  dependencies: PaymentsDependencies,
  resourceId: string,
  resolvedBy: string,
) {
  const now = dependencies.clock.now();
  const lockExpiredBefore = new Date(now.getTime() - dependencies.settings.keyLockTimeoutMs);
  const key = await claimKeyOfResource(dependencies.sql, resourceId, now, lockExpiredBefore, {
    awaitingOperator: true,
  });
  if (!key)
    throw new DomainError(
      'payment_not_awaiting_resolution',
      409,
      'Nothing of this payment or refund waits for an operator (or a resolution of it is in progress).',
      { id: resourceId },
    );
  const answer = await resumeKey(dependencies, key, 'operator');
  if (!(await keyOfResourceFinished(dependencies.sql, key.merchantId, key.key)))
    throw new DomainError(
      'acquirer_outcome_unknown',
      503,
      'The acquirer did not answer the inquiry; nothing changed. Try again later.',
      { id: resourceId, operation: key.operation },
    );
  const refund =
    key.operation === 'refund' ? await findRefund(dependencies.sql, key.merchantId, resourceId) : undefined;
  const paymentId = refund?.paymentId ?? resourceId;
  dependencies.log.warn(
    { resourceId, operation: key.operation, status: answer.status, resolvedBy },
    'unknown outcome resolved by an operator',
  );
  return {
    resourceId,
    operation: key.operation,
    answer: { status: answer.status, body: JSON.parse(answer.body) as Record<string, unknown> },
    payment: await getPayment(dependencies, key.merchantId, paymentId),
  };
}
