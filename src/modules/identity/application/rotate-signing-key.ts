// Rotate the token-signing key: the active key becomes `retiring` and keeps verifying until every
// token it signed has expired (now + token lifetime + leeway), then the retire job marks it
// `retired`; a new key becomes active. One transaction, serialized by a row lock. No outside calls.
import type { Sql } from '../../../platform/db/client.ts';
import type { Clock } from '../../../platform/clock.ts';
import type { SecretSealer } from '../../../platform/secrets.ts';
import {
  insertSigningKey,
  listSigningKeys,
  retireActiveKey,
  retireExpiredKeys,
  type SigningAlgorithm,
} from '../infra/identity-repository.ts';
import { generateSigningKey } from '../infra/key-ring.ts';

export interface RotationResult {
  readonly kid: string;
  readonly algorithm: SigningAlgorithm;
  readonly previousKid: string | undefined;
  /** When the previous key stops verifying. */
  readonly previousNotAfter: Date | undefined;
}

export async function rotateSigningKey(
  dependencies: { sql: Sql; clock: Clock; sealer: SecretSealer },
  options: {
    algorithm: SigningAlgorithm;
    tokenTtlSeconds: number;
    leewaySeconds: number;
    /** Rotate only if the active key is at least this old (checked under the lock). */
    onlyIfOlderThanMs?: number;
  },
): Promise<RotationResult | undefined> {
  const now = dependencies.clock.now();
  const generated = await generateSigningKey(options.algorithm, now);
  const notAfter = new Date(now.getTime() + (options.tokenTtlSeconds + options.leewaySeconds) * 1000);
  return dependencies.sql.begin(async (transaction) => {
    await transaction`lock table identity.signing_keys in share row exclusive mode`;
    if (options.onlyIfOlderThanMs !== undefined) {
      const active = (await listSigningKeys(transaction)).find((key) => key.status === 'active');
      if (active && now.getTime() - active.createdAt.getTime() < options.onlyIfOlderThanMs) return undefined;
    }
    const previousKid = await retireActiveKey(transaction, now, notAfter);
    await insertSigningKey(transaction, dependencies.sealer, generated, now);
    return {
      kid: generated.kid,
      algorithm: generated.algorithm,
      previousKid,
      previousNotAfter: previousKid ? notAfter : undefined,
    };
  });
}

/** Rotates when the active key is older than `rotateAfterMs` (0: never); retires expired keys. */
export async function maintainSigningKeys(
  dependencies: { sql: Sql; clock: Clock; sealer: SecretSealer },
  options: {
    algorithm: SigningAlgorithm;
    tokenTtlSeconds: number;
    leewaySeconds: number;
    rotateAfterMs: number;
  },
): Promise<{ rotated: RotationResult | undefined; retired: string[] }> {
  const now = dependencies.clock.now();
  const retired = await retireExpiredKeys(dependencies.sql, now);
  if (options.rotateAfterMs <= 0) return { rotated: undefined, retired };
  const active = (await listSigningKeys(dependencies.sql)).find((key) => key.status === 'active');
  if (active && now.getTime() - active.createdAt.getTime() < options.rotateAfterMs)
    return { rotated: undefined, retired };
  const rotated = await rotateSigningKey(dependencies, {
    ...options,
    onlyIfOlderThanMs: options.rotateAfterMs,
  });
  return { rotated, retired };
}
