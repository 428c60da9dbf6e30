// One process at a time for a long job (a key rotation's re-seal, a settlement run): a session-level
// advisory lock held on a connection of its own for the job's duration. PostgreSQL releases it
// when that connection ends, so a killed process never leaves it behind.
import type { Sql } from './client.ts';

/** A lock's identity: a fixed 64-bit number, or a name PostgreSQL hashes (`hashtext`). */
export type AdvisoryLockKey = number | { readonly name: string };

/**
 * Runs `job` while holding the lock, or answers `{ ran: false }` at once when another session
 * holds it. The lock is released when the job ends, whether it returns or throws.
 */
export async function withAdvisoryLock<T>(
  sql: Sql,
  key: AdvisoryLockKey,
  job: () => Promise<T>,
): Promise<{ readonly ran: true; readonly value: T } | { readonly ran: false }> {
  const connection = await sql.reserve();
  try {
    const [lock] =
      typeof key === 'number'
        ? await connection<{ locked: boolean }[]>`select pg_try_advisory_lock(${key}) as locked`
        : await connection<
            { locked: boolean }[]
          >`select pg_try_advisory_lock(hashtext(${key.name})) as locked`;
    if (!lock?.locked) return { ran: false };
    try {
      return { ran: true, value: await job() };
    } finally {
      await (
        typeof key === 'number'
          ? connection`select pg_advisory_unlock(${key})`
          : connection`select pg_advisory_unlock(hashtext(${key.name}))`
      ).catch(() => undefined);
    }
  } finally {
    connection.release();
  }
}
