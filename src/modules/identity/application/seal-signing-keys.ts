// At start: prove the secrets key opens the stored signing keys, then seal the private keys a
// PayFlow before ADR 16 wrote in clear and null their clear column. One transaction under an
// advisory lock, so two processes starting at once neither race nor seal with different keys.
// Idempotent: with nothing in clear it only checks the key. No outside calls.
import type { Sql } from '../../../platform/db/client.ts';
import { wrongSecretsKeyError, type SecretSealer } from '../../../platform/secrets.ts';
import { privateJwkBinding } from '../infra/identity-repository.ts';

const sealAdvisoryLockKey = 7_310_200_101;

/** Throws SecretsKeyError (one line naming PAYFLOW_SECRETS_KEY) when the key does not fit. */
export async function sealClearSigningKeys(sql: Sql, sealer: SecretSealer): Promise<number> {
  return sql.begin(async (transaction) => {
    await transaction`select pg_advisory_xact_lock(${sealAdvisoryLockKey})`;
    // Before sealing anything: a process holding the wrong key must not add values only it can open.
    const [newest] = await transaction<{ kid: string; private_jwk_sealed: string }[]>`
      select kid, private_jwk_sealed from identity.signing_keys
      where private_jwk_sealed is not null order by created_at desc limit 1`;
    if (newest) {
      try {
        sealer.unseal(newest.private_jwk_sealed, privateJwkBinding(newest.kid));
      } catch (error) {
        throw wrongSecretsKeyError(`signing key ${newest.kid}`, error);
      }
    }
    const clear = await transaction<{ kid: string; private_jwk: Record<string, unknown> }[]>`
      select kid, private_jwk from identity.signing_keys where private_jwk is not null
      order by kid for update`;
    for (const row of clear) {
      const sealed = sealer.seal(JSON.stringify(row.private_jwk), privateJwkBinding(row.kid));
      await transaction`
        update identity.signing_keys set private_jwk_sealed = ${sealed}, private_jwk = null
        where kid = ${row.kid}`;
    }
    return clear.length;
  });
}
