// Give a confidential client a new secret; the old one stops working at once. Tokens already issued
// stay valid until they expire (they are self-contained). No outside calls.
import type { Sql } from '../../../platform/db/client.ts';
import type { Clock } from '../../../platform/clock.ts';
import { DomainError } from '../../../platform/errors.ts';
import { generateClientSecret, hashClientSecret } from '../domain/secrets.ts';
import { replaceSecretHash } from '../infra/identity-repository.ts';

export async function rotateClientSecret(
  dependencies: { sql: Sql; clock: Clock },
  clientId: string,
): Promise<{ clientId: string; clientSecret: string }> {
  const clientSecret = generateClientSecret();
  const replaced = await replaceSecretHash(
    dependencies.sql,
    clientId,
    await hashClientSecret(clientSecret),
    dependencies.clock.now(),
  );
  if (!replaced) throw new DomainError('client_not_found', 404, 'No confidential client has this id.');
  return { clientId, clientSecret };
}
