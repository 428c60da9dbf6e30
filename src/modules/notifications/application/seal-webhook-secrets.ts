// At start: prove the secrets key opens the stored webhook secrets, then seal the secrets a PayFlow
// before ADR 16 wrote in clear (current and previous, deleted endpoints too) and null their clear
// columns. One transaction under an advisory lock, so two processes starting at once neither race
// nor seal with different keys. Idempotent: with nothing in clear it only checks the key.
import type { Sql } from '../../../platform/db/client.ts';
import { wrongSecretsKeyError, type SecretSealer } from '../../../platform/secrets.ts';
import { secretBinding } from '../infra/repository.ts';

const sealAdvisoryLockKey = 7_310_200_601;

/** Throws SecretsKeyError (one line naming PAYFLOW_SECRETS_KEY) when the key does not fit. */
export async function sealClearWebhookSecrets(sql: Sql, sealer: SecretSealer): Promise<number> {
  return sql.begin(async (transaction) => {
    await transaction`select pg_advisory_xact_lock(${sealAdvisoryLockKey})`;
    // Before sealing anything: a process holding the wrong key must not add values only it can open.
    const [newest] = await transaction<{ id: string; secret_sealed: string }[]>`
      select id, secret_sealed from notifications.webhook_endpoints
      where secret_sealed is not null order by updated_at desc, id desc limit 1`;
    if (newest) {
      try {
        sealer.unseal(newest.secret_sealed, secretBinding(newest.id, 'secret_sealed'));
      } catch (error) {
        throw wrongSecretsKeyError(`the webhook secret of endpoint ${newest.id}`, error);
      }
    }
    const clear = await transaction<{ id: string; secret: string | null; previous_secret: string | null }[]>`
      select id, secret, previous_secret from notifications.webhook_endpoints
      where secret is not null or previous_secret is not null
      order by id for update`;
    for (const row of clear) {
      const secretSealed =
        row.secret === null ? null : sealer.seal(row.secret, secretBinding(row.id, 'secret_sealed'));
      const previousSealed =
        row.previous_secret === null
          ? null
          : sealer.seal(row.previous_secret, secretBinding(row.id, 'previous_secret_sealed'));
      await transaction`
        update notifications.webhook_endpoints
        set secret_sealed = coalesce(${secretSealed}::text, secret_sealed), secret = null,
            previous_secret_sealed = coalesce(${previousSealed}::text, previous_secret_sealed),
            previous_secret = null
        where id = ${row.id}`;
    }
    return clear.length;
  });
}
