// Re-wrap every record's data key under the keyring's active version, while the platform serves.
// Each batch is one short transaction that locks its rows with FOR UPDATE SKIP LOCKED, so live
// detokenizations are never blocked for long and two rotation runs share the work. Only the 61-byte
// wrapped key changes; the ciphertext is untouched. Records not yet reached stay readable, because
// the keyring keeps the retired versions.
import { rewrap, type Keyring } from '../domain/envelope.ts';
import {
  appendAccessLog,
  countRecords,
  countStaleRecords,
  lockStaleRecords,
  storeRewrapped,
  type RewrapTable,
} from '../infra/vault-repository.ts';
import type { VaultDependencies } from './dependencies.ts';

export const rewrapBatchDefault = 200;
export const rewrapBatchMax = 10_000;
/** Rows locked by live transactions are retried this many times before the run reports them. */
const lockedRetriesMax = 50;
const lockedRetryDelayMs = 100;

export const rewrapTables: readonly RewrapTable[] = ['fingerprint_key', 'card_tokens', 'cvc_records'];

export interface RewrapProgress {
  readonly table: RewrapTable;
  readonly rewrapped: number;
  readonly total: number;
  readonly remaining: number;
}

export interface RewrapOptions {
  readonly batchSize?: number;
  /** Stop after this many batches (tests use it to look at a half-finished rotation). */
  readonly batchesMax?: number;
  readonly actor?: string;
  onProgress?(progress: RewrapProgress): void;
}

export interface RewrapResult {
  readonly activeVersion: number;
  readonly rewrapped: number;
  /** Records still under an older version (locked throughout, or the run was limited). */
  readonly remaining: number;
}

/** One batch of one table: returns how many records moved to the active version. */
export async function rewrapBatch(
  dependencies: Pick<VaultDependencies, 'sql' | 'clock'>,
  keyring: Keyring,
  table: RewrapTable,
  batchSize: number,
): Promise<number> {
  return dependencies.sql.begin(async (transaction) => {
    const rows = await lockStaleRecords(transaction, table, keyring.activeVersion, batchSize);
    const now = dependencies.clock.now();
    for (const row of rows)
      await storeRewrapped(transaction, table, row.id, rewrap(row.secret, keyring), now);
    return rows.length;
  });
}

export async function rewrapAll(
  dependencies: VaultDependencies,
  options: RewrapOptions = {},
): Promise<RewrapResult> {
  dependencies.keyrings.reload();
  const keyring = dependencies.keyrings.current();
  const batchSize = Math.min(
    Math.max(1, Math.trunc(options.batchSize ?? rewrapBatchDefault)),
    rewrapBatchMax,
  );
  let batches = 0;
  let rewrapped = 0;
  const limited = () => options.batchesMax !== undefined && batches >= options.batchesMax;
  for (const table of rewrapTables) {
    const total = await countRecords(dependencies.sql, table);
    let tableRewrapped = 0;
    let lockedRetries = 0;
    while (!limited()) {
      const moved = await rewrapBatch(dependencies, keyring, table, batchSize);
      batches += 1;
      tableRewrapped += moved;
      if (moved > 0) {
        const remaining = await countStaleRecords(dependencies.sql, table, keyring.activeVersion);
        options.onProgress?.({ table, rewrapped: tableRewrapped, total, remaining });
        continue;
      }
      // Nothing unlocked was left: stop unless rows held by live transactions still wait.
      const remaining = await countStaleRecords(dependencies.sql, table, keyring.activeVersion);
      if (remaining === 0 || lockedRetries >= lockedRetriesMax) break;
      lockedRetries += 1;
      await new Promise((resolve) => setTimeout(resolve, lockedRetryDelayMs));
    }
    rewrapped += tableRewrapped;
  }
  let remaining = 0;
  for (const table of rewrapTables)
    remaining += await countStaleRecords(dependencies.sql, table, keyring.activeVersion);
  await appendAccessLog(dependencies.sql, {
    occurredAt: dependencies.clock.now(),
    actor: options.actor ?? 'payflow vault rotate-key',
    action: 'rotate_key',
    merchantId: null,
    tokenId: null,
    purpose: null,
    outcome: remaining === 0 ? 'ok' : 'failed',
    cvcReleased: false,
    detail: `active key version ${keyring.activeVersion}: ${rewrapped} record(s) rewrapped, ${remaining} remaining`,
  });
  return { activeVersion: keyring.activeVersion, rewrapped, remaining };
}
