// Disable or re-enable an API client. Either way every token the client holds is refused from then on
// (its token generation moves up); a disabled client gets no new token. Recorded with who and why.
// Phases: validate → lock the client → (no-op if already in that state) → apply + audit + notify.
import type { Sql } from '../../../platform/db/client.ts';
import type { Clock } from '../../../platform/clock.ts';
import { DomainError } from '../../../platform/errors.ts';
import {
  applyClientAccessChange,
  lockClientForChange,
  type ClientAccessState,
} from '../infra/client-access-repository.ts';

export const accessReasonLengthMax = 500;
export const actorLengthMax = 200;

export interface ClientAccessRequest {
  readonly clientId: string;
  /** Who asks: `cli:<os user>` or `client:<admin client id>`. */
  readonly actor: string;
  readonly reason?: string | undefined;
}

export interface ClientAccessResult {
  readonly client: ClientAccessState;
  /** False when the client already was in the requested state (nothing recorded). */
  readonly changed: boolean;
}

const clientIdPattern = /^(cli|pk)_[0-9a-hjkmnp-tv-z]{26}$/;

/** Checks the request (an id no client can have is client_not_found); returns the trimmed reason. */
export function validateAccessRequest(request: ClientAccessRequest): string | undefined {
  if (!clientIdPattern.test(request.clientId)) throw clientNotFound();
  const reason = request.reason?.trim() || undefined;
  if (reason !== undefined && reason.length > accessReasonLengthMax)
    throw new DomainError('invalid_reason', 422, `A reason has at most ${accessReasonLengthMax} characters.`);
  const actor = request.actor.trim();
  if (actor.length === 0 || actor.length > actorLengthMax)
    throw new Error(`actor must have 1 to ${actorLengthMax} characters`);
  return reason;
}

export function clientNotFound(): DomainError {
  return new DomainError('client_not_found', 404, 'No client has this id.');
}

async function changeAccess(
  dependencies: { sql: Sql; clock: Clock },
  request: ClientAccessRequest,
  action: 'disabled' | 'enabled',
): Promise<ClientAccessResult> {
  const reason = validateAccessRequest(request);
  return dependencies.sql.begin(async (transaction) => {
    const client = await lockClientForChange(transaction, request.clientId);
    if (!client) throw clientNotFound();
    if ((client.disabledAt !== undefined) === (action === 'disabled')) return { client, changed: false };
    const change = { clientId: request.clientId, action, actor: request.actor.trim(), reason };
    return {
      client: await applyClientAccessChange(transaction, change, dependencies.clock.now()),
      changed: true,
    };
  });
}

/** Disables a client: no new tokens, and the ones it holds are refused within the revocation delay. */
export function disableClient(
  dependencies: { sql: Sql; clock: Clock },
  request: ClientAccessRequest,
): Promise<ClientAccessResult> {
  return changeAccess(dependencies, request, 'disabled');
}

/** Enables a disabled client; tokens issued before it was disabled stay refused. */
export function enableClient(
  dependencies: { sql: Sql; clock: Clock },
  request: ClientAccessRequest,
): Promise<ClientAccessResult> {
  return changeAccess(dependencies, request, 'enabled');
}
