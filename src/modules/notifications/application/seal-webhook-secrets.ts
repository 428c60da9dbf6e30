// At start: prove the secrets key opens the stored webhook secrets, then seal the secrets a PayFlow
// before ADR 16 wrote in clear (current and previous, deleted endpoints too) and null their clear
// columns. One transaction under an advisory lock, so two processes starting at once neither race
// nor seal with different keys. Idempotent: with nothing in clear it only checks the key.
import type { Sql } from '../../../platform/db/client.ts';
import { wrongSecretsKeyError, type SecretSealer } from '../../../platform/secrets.ts';
import {
  lockClearSecrets,
  newestSealedSecret,
  replaceClearSecrets,
  secretBinding,
} from '../infra/repository.ts';

const sealAdvisoryLockKey = 7_310_200_601;

/** Throws SecretsKeyError (one line naming PAYFLOW_SECRETS_KEY) when the key does not fit. */
export async function sealClearWebhookSecrets(sql: Sql, sealer: SecretSealer): Promise<number> {
  return sql.begin(async (transaction) => {
    await transaction`select pg_advisory_xact_lock(${sealAdvisoryLockKey})`;
    // Before sealing anything: a process holding the wrong key must not add values only it can open.
    const newest = await newestSealedSecret(transaction);
    if (newest) {
      try {
        sealer.unseal(newest.sealed, secretBinding(newest.endpointId, 'secret_sealed'));
      } catch (error) {
        throw wrongSecretsKeyError(`the webhook secret of endpoint ${newest.endpointId}`, error);
      }
    }
    const clear = await lockClearSecrets(transaction);
    for (const endpoint of clear) {
      const id = endpoint.endpointId;
      await replaceClearSecrets(
        transaction,
        id,
        endpoint.secret === null ? null : sealer.seal(endpoint.secret, secretBinding(id, 'secret_sealed')),
        endpoint.previousSecret === null
          ? null
          : sealer.seal(endpoint.previousSecret, secretBinding(id, 'previous_secret_sealed')),
      );
    }
    return clear.length;
  });
}
