// The janitor and completer: resumes unfinished idempotency keys from their recovery point. A key is
// due when its scheduled inquiry time has come (unknown outcome) or when the request that held it has
// been silent for longer than the lock timeout (its process died between phases).
import type { ApiAnswer } from '../domain/payment.ts';
import {
  claimDueKeys,
  claimKeyOfResource,
  setKeyLock,
  type IdempotencyKey,
} from '../infra/idempotency-repository.ts';
import { continueAuthorization } from './authorize-payment.ts';
import { continueCapture } from './capture-payment.ts';
import type { ContinuationMode, PaymentsDependencies } from './dependencies.ts';
import { continueRefund } from './refund-payment.ts';
import { continueVoid } from './void-payment.ts';
import { keepForJanitor } from './key-steps.ts';

/** Keys resumed per janitor run. */
export const janitorBatchMax = 50;

export async function resumeKey(
  dependencies: PaymentsDependencies,
  key: IdempotencyKey,
  mode: ContinuationMode,
): Promise<ApiAnswer> {
  const ref = {
    merchantId: key.merchantId,
    key: key.key,
    resourceId: key.resourceId!,
    attempts: key.attempts,
  };
  switch (key.operation) {
    case 'authorize':
      return continueAuthorization(dependencies, ref, mode);
    case 'capture':
      return continueCapture(dependencies, ref, mode);
    case 'void':
      return continueVoid(dependencies, ref, mode);
    case 'refund':
      return continueRefund(dependencies, ref, mode);
    default:
      return key.operation satisfies never;
  }
}

async function resumeSafely(
  dependencies: PaymentsDependencies,
  key: IdempotencyKey,
  mode: ContinuationMode,
): Promise<void> {
  try {
    await resumeKey(dependencies, key, mode);
  } catch (error) {
    // Unlock and back off on the schedule, so a key that keeps failing cannot spin every tick.
    dependencies.log.error({ err: error, resourceId: key.resourceId }, 'janitor could not resume a key');
    const ref = {
      merchantId: key.merchantId,
      key: key.key,
      resourceId: key.resourceId!,
      attempts: key.attempts,
    };
    await keepForJanitor(dependencies, dependencies.sql, ref, mode, 'resuming failed');
  }
}

/** One janitor run: resumes every due or abandoned key (a few at a time). Returns how many. */
export async function runJanitor(dependencies: PaymentsDependencies, signal?: AbortSignal): Promise<number> {
  const now = dependencies.clock.now();
  const lockExpiredBefore = new Date(now.getTime() - dependencies.settings.keyLockTimeoutMs);
  const keys = await claimDueKeys(dependencies.sql, now, lockExpiredBefore, janitorBatchMax);
  for (const key of keys) {
    if (signal?.aborted) {
      await setKeyLock(dependencies.sql, key.merchantId, key.key, null);
      continue;
    }
    await resumeSafely(dependencies, key, 'janitor');
  }
  return keys.length;
}

/**
 * Resolves the unfinished operation on a payment or refund now (a capture of a PENDING payment):
 * `retry` from a client request (an unknown outcome leaves the janitor's schedule alone).
 */
export async function resolveResource(
  dependencies: PaymentsDependencies,
  resourceId: string,
  mode: ContinuationMode,
): Promise<void> {
  const now = dependencies.clock.now();
  const lockExpiredBefore = new Date(now.getTime() - dependencies.settings.keyLockTimeoutMs);
  const key = await claimKeyOfResource(dependencies.sql, resourceId, now, lockExpiredBefore);
  if (key) await resumeSafely(dependencies, key, mode);
}
