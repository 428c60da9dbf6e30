// Create an operator (admin), service or extra merchant client. The secret is returned once.
// Phases: validate role and merchant → hash the secret → insert. No outside calls.
import type { Sql } from '../../../platform/db/client.ts';
import type { Clock } from '../../../platform/clock.ts';
import { DomainError } from '../../../platform/errors.ts';
import { newId } from '../../../platform/ids.ts';
import { scopesByRole } from '../domain/scopes.ts';
import { generateClientSecret, hashClientSecret } from '../domain/secrets.ts';
import { insertClient } from '../infra/identity-repository.ts';

export type ConfidentialRole = 'merchant' | 'admin' | 'service';
export const confidentialRoles: readonly ConfidentialRole[] = ['merchant', 'admin', 'service'];

export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly role: ConfidentialRole;
  readonly merchantId: string | undefined;
  readonly scopes: readonly string[];
}

export async function createClient(
  dependencies: { sql: Sql; clock: Clock },
  input: { role: ConfidentialRole; merchantId?: string | undefined; description?: string | undefined },
): Promise<ClientCredentials> {
  if (!confidentialRoles.includes(input.role))
    throw new DomainError('invalid_role', 422, `role must be one of ${confidentialRoles.join(', ')}.`);
  if ((input.role === 'merchant') !== (input.merchantId !== undefined))
    throw new DomainError(
      'invalid_merchant',
      422,
      'A merchant client needs a merchant id; admin and service clients take none.',
    );
  const now = dependencies.clock.now();
  const clientId = newId('cli', now.getTime());
  const clientSecret = generateClientSecret();
  const scopes = scopesByRole[input.role];
  try {
    await insertClient(
      dependencies.sql,
      {
        clientId,
        role: input.role,
        merchantId: input.merchantId,
        secretHash: await hashClientSecret(clientSecret),
        scopes,
        description: input.description,
      },
      now,
    );
  } catch (error) {
    if ((error as { code?: string }).code === '23503')
      throw new DomainError('merchant_not_found', 404, 'No merchant has this id.');
    throw error;
  }
  return { clientId, clientSecret, role: input.role, merchantId: input.merchantId, scopes };
}
