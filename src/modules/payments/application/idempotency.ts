// Phase 1's first step for every POST: insert-or-lock the idempotency key. A finished key replays its
// stored answer; a different request under the same key is refused; a key held by a live request is
// refused with Retry-After; an unfinished key nobody holds (unknown outcome, or a process that died)
// is taken over and resumed from its recovery point. Header parsing and the request fingerprint are
// the platform's (src/platform/idempotency.ts), shared with the single-transaction endpoints.
import type { TransactionSql } from '../../../platform/db/client.ts';
import { DomainError } from '../../../platform/errors.ts';
import type { ApiAnswer } from '../domain/payment.ts';
import { insertKey, lockKey, setKeyLock, type KeyOperation } from '../infra/idempotency-repository.ts';

export type KeyClaim =
  | { readonly type: 'new' }
  | { readonly type: 'replay'; readonly answer: ApiAnswer }
  | { readonly type: 'resume'; readonly resourceId: string; readonly attempts: number };

export async function claimKey(
  transaction: TransactionSql,
  request: {
    readonly merchantId: string;
    readonly key: string;
    readonly operation: KeyOperation;
    readonly fingerprint: string;
    readonly now: Date;
    readonly lockTimeoutMs: number;
  },
): Promise<KeyClaim> {
  const inserted = await insertKey(transaction, request);
  if (inserted) return { type: 'new' };
  const existing = await lockKey(transaction, request.merchantId, request.key);
  if (!existing) throw new Error('an idempotency key vanished while it was locked');
  if (existing.fingerprint !== request.fingerprint || existing.operation !== request.operation) {
    throw new DomainError(
      'idempotency_key_reused',
      409,
      'This Idempotency-Key was used with a different request; use a new key for a new request.',
    );
  }
  if (existing.recoveryPoint === 'finished' && existing.response)
    return { type: 'replay', answer: existing.response };
  const heldUntil = existing.lockedAt ? existing.lockedAt.getTime() + request.lockTimeoutMs : 0;
  if (existing.recoveryPoint === 'started' || heldUntil > request.now.getTime()) {
    const retryAfterSeconds = Math.max(1, Math.ceil((heldUntil - request.now.getTime()) / 1000));
    throw new DomainError(
      'idempotency_key_in_use',
      409,
      'A request with this Idempotency-Key is still being processed; retry later.',
      {},
      { 'retry-after': String(Math.min(retryAfterSeconds, 5)) },
    );
  }
  await setKeyLock(transaction, request.merchantId, request.key, request.now);
  return { type: 'resume', resourceId: existing.resourceId!, attempts: existing.attempts };
}
