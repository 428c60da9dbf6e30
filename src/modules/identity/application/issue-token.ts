// Issue an access token (RFC 6749 §4.4 client credentials).
// Phases: validate the grant → load the client → verify its secret (scrypt; decoy hash for unknown
// clients) → narrow the scopes → sign a JWT with the active key. No outside calls.
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Sql } from '../../../platform/db/client.ts';
import type { Clock } from '../../../platform/clock.ts';
import { oauthError } from '../domain/oauth-errors.ts';
import { resolveScopes } from '../domain/scopes.ts';
import { clientSecretLengthMax, verifyClientSecret } from '../domain/secrets.ts';
import { findClient } from '../infra/identity-repository.ts';
import type { KeyRing } from '../infra/key-ring.ts';

export interface TokenSettings {
  readonly issuer: string;
  readonly audience: string;
  readonly ttlSeconds: number;
}

export interface TokenRequest {
  readonly grantType: string | undefined;
  readonly clientId: string | undefined;
  /** Undefined for public (publishable) clients. */
  readonly clientSecret: string | undefined;
  readonly scope: string | undefined;
}

export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly scope: string;
}

const clientIdLengthMax = 100;

export async function issueToken(
  dependencies: { sql: Sql; clock: Clock; keyRing: KeyRing; settings: TokenSettings },
  request: TokenRequest,
): Promise<TokenResponse> {
  if (!request.grantType) throw oauthError('invalid_request', 'grant_type is required.');
  if (request.grantType !== 'client_credentials')
    throw oauthError('unsupported_grant_type', 'Only the client_credentials grant is supported.');
  if (!request.clientId || request.clientId.length > clientIdLengthMax)
    throw oauthError('invalid_client', 'Client authentication failed.');
  const client = await findClient(dependencies.sql, request.clientId);
  const authenticated =
    client?.role === 'publishable'
      ? request.clientSecret === undefined
      : request.clientSecret !== undefined &&
        request.clientSecret.length <= clientSecretLengthMax &&
        (await verifyClientSecret(request.clientSecret, client?.secretHash));
  if (!client || !authenticated || client.disabled)
    throw oauthError('invalid_client', 'Client authentication failed.');
  const scopes = resolveScopes(client.scopes, request.scope);
  if (!scopes.ok) throw oauthError('invalid_scope', `The requested scope is invalid: ${scopes.reason}.`);

  const now = dependencies.clock.now();
  const issuedAt = Math.floor(now.getTime() / 1000);
  const { ttlSeconds, issuer, audience } = dependencies.settings;
  const signing = await dependencies.keyRing.activeSigningKey();
  const scope = scopes.scopes.join(' ');
  const accessToken = await new SignJWT({
    role: client.role,
    scope,
    client_id: client.clientId,
    // Revocation: disabling, re-enabling or a secret rotation raises the client's generation.
    generation: client.tokenGeneration,
    ...(client.merchantId ? { merchant_id: client.merchantId } : {}),
  })
    .setProtectedHeader({ alg: signing.algorithm, kid: signing.kid, typ: 'at+jwt' })
    .setIssuer(issuer)
    .setAudience(audience)
    .setSubject(client.clientId)
    .setIssuedAt(issuedAt)
    .setNotBefore(issuedAt)
    .setExpirationTime(issuedAt + ttlSeconds)
    .setJti(randomUUID())
    .sign(signing.key);
  return { access_token: accessToken, token_type: 'Bearer', expires_in: ttlSeconds, scope };
}
