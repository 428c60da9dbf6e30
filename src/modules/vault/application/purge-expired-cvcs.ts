// Purge CVC records whose time to live passed without an authorization using them. Runs as a
// background job in small batches (each batch one statement), so it never holds long locks.
import { deleteExpiredCvcs } from '../infra/vault-repository.ts';
import type { VaultDependencies } from './dependencies.ts';

export const cvcPurgeBatchMax = 500;

/** Deletes every expired CVC record as of the clock's now; returns how many were deleted. */
export async function purgeExpiredCvcs(
  dependencies: Pick<VaultDependencies, 'sql' | 'clock'>,
  signal?: AbortSignal,
): Promise<number> {
  const now = dependencies.clock.now();
  let total = 0;
  for (;;) {
    const deleted = await deleteExpiredCvcs(dependencies.sql, now, cvcPurgeBatchMax);
    total += deleted;
    if (deleted < cvcPurgeBatchMax || signal?.aborted) return total;
  }
}
