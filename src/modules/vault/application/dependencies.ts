// What every vault use case needs: the database, the keyring, the fingerprint root key, the clock
// and the CVC time to live. Built once by the module (index.ts) or by a test.
import type { Sql } from '../../../platform/db/client.ts';
import type { Clock } from '../../../platform/clock.ts';
import type { Logger } from '../../../platform/log.ts';
import { decryptSecret, VaultCryptoError, type EncryptedSecret } from '../domain/envelope.ts';
import type { Secret } from '../domain/masked.ts';
import type { KeyringSource } from '../infra/keyring-source.ts';

export interface VaultDependencies {
  readonly sql: Sql;
  readonly keyrings: KeyringSource;
  /** Root key of card fingerprints (HKDF per merchant happens in the domain). */
  readonly fingerprintKey: Secret<Buffer>;
  readonly clock: Clock;
  readonly log: Logger;
  readonly cvcTtlSeconds: number;
}

/**
 * Decrypts with the current keyring; a record under a version this process does not hold yet (a
 * rotation ran elsewhere) makes a file-backed keyring reload once before giving up.
 */
export function decryptWithReload(
  dependencies: VaultDependencies,
  record: EncryptedSecret,
  aad: string,
): Buffer {
  try {
    return decryptSecret(record, aad, dependencies.keyrings.current());
  } catch (error) {
    if (!(error instanceof VaultCryptoError) || error.code !== 'unknown_key_version') throw error;
    if (!dependencies.keyrings.reload()) throw error;
    return decryptSecret(record, aad, dependencies.keyrings.current());
  }
}

/** The AAD of a token's CVC record: bound to the token, and distinct from the number's AAD. */
export function cvcAad(tokenId: string): string {
  return `${tokenId}/cvc`;
}

export const fingerprintKeyAad = 'payflow/vault/fingerprint-key';
