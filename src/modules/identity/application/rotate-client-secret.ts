// Give a confidential client a new secret. The old secret stops working at once, and so does every
// token issued before (the client's token generation moves up; each process refuses older tokens
// within the revocation delay). Recorded with who and why. Phases: validate → hash → lock the client
// → replace + audit + notify. No outside calls.
import type { Sql } from '../../../platform/db/client.ts';
import type { Clock } from '../../../platform/clock.ts';
import { DomainError } from '../../../platform/errors.ts';
import { generateClientSecret, hashClientSecret } from '../domain/secrets.ts';
import { applyClientAccessChange, lockClientForChange } from '../infra/client-access-repository.ts';
import { validateAccessRequest, type ClientAccessRequest } from './change-client-access.ts';

export async function rotateClientSecret(
  dependencies: { sql: Sql; clock: Clock },
  request: ClientAccessRequest,
): Promise<{ clientId: string; clientSecret: string }> {
  const reason = validateAccessRequest(request);
  const clientSecret = generateClientSecret();
  const secretHash = await hashClientSecret(clientSecret);
  await dependencies.sql.begin(async (transaction) => {
    const client = await lockClientForChange(transaction, request.clientId);
    if (!client || client.role === 'publishable')
      throw new DomainError('client_not_found', 404, 'No confidential client has this id.');
    const change = {
      clientId: request.clientId,
      action: 'secret_rotated' as const,
      actor: request.actor.trim(),
      reason,
      secretHash,
    };
    await applyClientAccessChange(transaction, change, dependencies.clock.now());
  });
  return { clientId: request.clientId, clientSecret };
}
