// Create a merchant with its secret API client and its publishable key, in one transaction.
// The client secret is returned once and stored only as an scrypt hash. No outside calls.
import type { Sql } from '../../../platform/db/client.ts';
import type { Clock } from '../../../platform/clock.ts';
import { isEmailAddress } from '../../../platform/contact.ts';
import { DomainError } from '../../../platform/errors.ts';
import { newId } from '../../../platform/ids.ts';
import { merchantScopes, publishableScopes } from '../domain/scopes.ts';
import { generateClientSecret, hashClientSecret } from '../domain/secrets.ts';
import { insertClient, insertMerchant } from '../infra/identity-repository.ts';

export interface MerchantCredentials {
  readonly merchantId: string;
  readonly clientId: string;
  /** Shown once; only its hash is stored. */
  readonly clientSecret: string;
  /** A public client id (no secret) whose tokens carry only `tokens:create`, for checkout pages. */
  readonly publishableKey: string;
}

export const merchantNameLengthMax = 200;

export interface MerchantOptions {
  /** Contact email: where notices for the merchant (a disabled webhook endpoint) are sent. */
  readonly email?: string | undefined;
}

export async function createMerchant(
  dependencies: { sql: Sql; clock: Clock },
  name: string,
  options: MerchantOptions = {},
): Promise<MerchantCredentials> {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > merchantNameLengthMax)
    throw new DomainError(
      'invalid_merchant_name',
      422,
      `A merchant name has 1 to ${merchantNameLengthMax} characters.`,
    );
  const email = options.email?.trim();
  if (email !== undefined && !isEmailAddress(email))
    throw new DomainError('invalid_merchant_email', 422, 'The merchant email is not an email address.');
  const now = dependencies.clock.now();
  const merchantId = newId('mer', now.getTime());
  const clientId = newId('cli', now.getTime());
  const publishableKey = newId('pk', now.getTime());
  const clientSecret = generateClientSecret();
  const secretHash = await hashClientSecret(clientSecret);
  await dependencies.sql.begin(async (transaction) => {
    await insertMerchant(transaction, { merchantId, name: trimmed, email }, now);
    await insertClient(
      transaction,
      { clientId, role: 'merchant', merchantId, secretHash, scopes: merchantScopes },
      now,
    );
    await insertClient(
      transaction,
      {
        clientId: publishableKey,
        role: 'publishable',
        merchantId,
        secretHash: undefined,
        scopes: publishableScopes,
      },
      now,
    );
  });
  return { merchantId, clientId, clientSecret, publishableKey };
}
