// The root key of card fingerprints: VAULT_FINGERPRINT_KEY when set; otherwise one random key per
// database, generated on first start and stored wrapped under the keyring (rewrapped on rotation
// like every record), so fingerprints stay stable across key rotations and restarts.
import { randomBytes } from 'node:crypto';
import type { Queryable } from '../../../platform/db/client.ts';
import { StartupError } from '../../../platform/db/embedded.ts';
import { decryptSecret, encryptSecret, VaultCryptoError, type Keyring } from '../domain/envelope.ts';
import { fingerprintKeyBytesMin } from '../domain/fingerprint.ts';
import { Secret } from '../domain/masked.ts';
import { insertFingerprintKeyRecord, readFingerprintKeyRecord } from '../infra/vault-repository.ts';
import { fingerprintKeyAad, type VaultDependencies } from './dependencies.ts';

export class FingerprintKeyError extends StartupError {
  override name = 'FingerprintKeyError';
}

/** 32+ bytes written as hex or base64; the message never quotes the text. */
export function parseFingerprintKey(text: string): Buffer {
  const trimmed = text.trim();
  const key = /^(?:[0-9a-fA-F]{2})+$/.test(trimmed)
    ? Buffer.from(trimmed, 'hex')
    : /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)
      ? Buffer.from(trimmed, 'base64')
      : Buffer.alloc(0);
  if (key.length < fingerprintKeyBytesMin || key.every((byte) => byte === 0)) {
    throw new FingerprintKeyError(
      `VAULT_FINGERPRINT_KEY must be at least ${fingerprintKeyBytesMin} random bytes written as hex or base64`,
    );
  }
  return key;
}

export async function loadFingerprintKey(
  dependencies: Pick<VaultDependencies, 'keyrings'> & { readonly sql: Queryable },
  configured: string | undefined,
): Promise<Secret<Buffer>> {
  if (configured !== undefined) return new Secret(parseFingerprintKey(configured));
  const decrypt = async (keyring: Keyring) => {
    const record = await readFingerprintKeyRecord(dependencies.sql);
    if (!record) return undefined;
    try {
      return decryptSecret(record, fingerprintKeyAad, keyring);
    } catch (error) {
      if (dependencies.keyrings.reload())
        return decryptSecret(record, fingerprintKeyAad, dependencies.keyrings.current());
      if (error instanceof VaultCryptoError) {
        throw new FingerprintKeyError(
          `the vault's stored fingerprint key does not decrypt with this keyring (${error.code}): is VAULT_MASTER_KEY / VAULT_KEY_FILE the keyring this database was created with?`,
        );
      }
      throw error;
    }
  };
  const existing = await decrypt(dependencies.keyrings.current());
  if (existing) return new Secret(existing);
  const fresh = randomBytes(32);
  await insertFingerprintKeyRecord(
    dependencies.sql,
    encryptSecret(fresh, fingerprintKeyAad, dependencies.keyrings.current()),
  );
  fresh.fill(0);
  // Another process may have won the insert: read back whichever key is stored.
  const stored = await decrypt(dependencies.keyrings.current());
  if (!stored) throw new FingerprintKeyError('the vault fingerprint key could not be stored');
  return new Secret(stored);
}
