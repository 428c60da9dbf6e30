// The signing keys as one process sees them. Signing always asks the database which key is active
// (so a `payflow keys rotate` run by another process takes effect on the next token); verification
// keys are cached in-process and refreshed every `verificationKeysRefreshMs`, and at once (at most
// every `unknownKidRefreshMs`) when a token names a kid the cache does not know. Several processes
// therefore share keys through the database without coordinating.
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { Sql } from '../../../platform/db/client.ts';
import type { Clock } from '../../../platform/clock.ts';
import type { SecretSealer } from '../../../platform/secrets.ts';
import { newId } from '../../../platform/ids.ts';
import {
  findActiveSigningKey,
  findVerificationKeys,
  insertSigningKey,
  type SigningAlgorithm,
  type SigningKeyRecord,
} from './identity-repository.ts';

export const verificationKeysRefreshMs = 30_000;
export const unknownKidRefreshMs = 2_000;
const clockSkewMs = 5_000;

const crockford = '0123456789abcdefghjkmnpqrstvwxyz';

/** Creation time of a `key_…` id: its first 48 bits (10 base32 characters hold 50) are unix ms. */
export function idTimestampMs(id: string): number | undefined {
  const match = /^key_([0-9a-hjkmnp-tv-z]{26})$/.exec(id);
  if (!match) return undefined;
  let value = 0;
  for (const character of match[1]!.slice(0, 10)) value = value * 32 + crockford.indexOf(character);
  return Math.floor(value / 4);
}

export interface SigningKey {
  readonly kid: string;
  readonly algorithm: SigningAlgorithm;
  readonly key: CryptoKey;
}

interface VerificationKey {
  readonly algorithm: SigningAlgorithm;
  readonly key: CryptoKey;
  readonly notAfter: Date | undefined;
}

export interface GeneratedKey {
  readonly kid: string;
  readonly algorithm: SigningAlgorithm;
  readonly publicJwk: Record<string, unknown>;
  readonly privateJwk: Record<string, unknown>;
}

export async function generateSigningKey(algorithm: SigningAlgorithm, at: Date): Promise<GeneratedKey> {
  const pair = await generateKeyPair(algorithm, { extractable: true });
  const kid = newId('key', at.getTime());
  const publicJwk = { ...(await exportJWK(pair.publicKey)), kid, alg: algorithm, use: 'sig' };
  const privateJwk = { ...(await exportJWK(pair.privateKey)), kid, alg: algorithm };
  return { kid, algorithm, publicJwk, privateJwk };
}

export interface PublicJwk {
  readonly kty: string;
  readonly crv: string;
  readonly x: string;
  readonly y?: string;
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly use: 'sig';
}

export function publicJwkOf(key: SigningKeyRecord): PublicJwk {
  const { kty, crv, x, y } = key.publicJwk as JWK;
  if (!kty || !crv || !x) throw new Error(`signing key ${key.kid} has an incomplete public JWK`);
  return { kty, crv, x, ...(y ? { y } : {}), kid: key.kid, alg: key.algorithm, use: 'sig' };
}

export class KeyRing {
  private readonly signingKeys = new Map<string, SigningKey>();
  private verificationKeys = new Map<string, VerificationKey>();
  private loadedAtMs = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly sql: Sql,
    private readonly clock: Clock,
    private readonly algorithm: SigningAlgorithm,
    /** Seals private keys before they reach the database and opens them for signing (ADR 16). */
    private readonly sealer: SecretSealer,
  ) {}

  /** Creates the first signing key if there is none (safe when several processes start at once). */
  async ensureActiveKey(): Promise<void> {
    if (await findActiveSigningKey(this.sql, this.sealer)) return;
    const now = this.clock.now();
    await insertSigningKey(this.sql, this.sealer, await generateSigningKey(this.algorithm, now), now);
  }

  /** The key new tokens are signed with, as the database says now. */
  async activeSigningKey(): Promise<SigningKey> {
    let record = await findActiveSigningKey(this.sql, this.sealer);
    if (!record) {
      await this.ensureActiveKey();
      record = await findActiveSigningKey(this.sql, this.sealer);
    }
    if (!record) throw new Error('no active signing key after creating one');
    const cached = this.signingKeys.get(record.kid);
    if (cached) return cached;
    const signing: SigningKey = {
      kid: record.kid,
      algorithm: record.algorithm,
      key: (await importJWK(record.privateJwk as JWK, record.algorithm)) as CryptoKey,
    };
    this.signingKeys.set(record.kid, signing);
    // A key this process starts signing with must verify here at once, whatever the cache age.
    if (!this.verificationKeys.has(record.kid)) this.invalidate();
    return signing;
  }

  /** The key that verifies tokens carrying `kid`, or undefined when no valid key has that kid. */
  async verificationKey(kid: string): Promise<VerificationKey | undefined> {
    const nowMs = this.clock.now().getTime();
    if (nowMs - this.loadedAtMs > verificationKeysRefreshMs) await this.refresh();
    let key = this.verificationKeys.get(kid);
    if (!key && (nowMs - this.loadedAtMs > unknownKidRefreshMs || this.mintedSinceLoad(kid, nowMs))) {
      await this.refresh();
      key = this.verificationKeys.get(kid);
    }
    if (key?.notAfter && key.notAfter.getTime() <= nowMs) return undefined;
    return key;
  }

  /** Forgets cached keys so the next verification reads the database (after a local rotation). */
  invalidate(): void {
    this.loadedAtMs = Number.NEGATIVE_INFINITY;
  }

  /**
   * Whether `kid` (a time-ordered id) was created after the last load and not in the future: a key
   * another process just rotated in. Such a kid refreshes the cache without waiting for the throttle.
   */
  private mintedSinceLoad(kid: string, nowMs: number): boolean {
    const createdMs = idTimestampMs(kid);
    return (
      createdMs !== undefined &&
      createdMs >= this.loadedAtMs - clockSkewMs &&
      createdMs <= nowMs + clockSkewMs
    );
  }

  private refresh(): Promise<void> {
    this.refreshing ??= this.load().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async load(): Promise<void> {
    const now = this.clock.now();
    const records = await findVerificationKeys(this.sql, now);
    const next = new Map<string, VerificationKey>();
    for (const record of records) {
      const known = this.verificationKeys.get(record.kid);
      const key =
        known?.key ?? ((await importJWK({ ...publicJwkOf(record) }, record.algorithm)) as CryptoKey);
      next.set(record.kid, { algorithm: record.algorithm, key, notAfter: record.notAfter });
    }
    this.verificationKeys = next;
    this.loadedAtMs = now.getTime();
  }
}
