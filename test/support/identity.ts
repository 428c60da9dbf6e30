// Credentials and tokens for tests: merchants are created through the identity module's application
// layer against the test database; tokens come from the real POST /oauth/token.
import {
  createClientWith,
  createMerchantWith,
  type MerchantCredentials,
} from '../../src/modules/identity/index.ts';
import { systemClock } from '../../src/platform/clock.ts';
import type { Sql } from '../../src/platform/db/client.ts';
import type { TestServer } from './server.ts';

let merchantCount = 0;

/** A new merchant with its secret client and publishable key. */
export function createMerchantCredentials(sql: Sql, name?: string): Promise<MerchantCredentials> {
  merchantCount += 1;
  return createMerchantWith({ sql, clock: systemClock }, name ?? `Test merchant ${merchantCount}`);
}

/** A token from POST /oauth/token (HTTP Basic; `clientSecret` undefined for a publishable key). */
export async function fetchToken(
  baseUrl: string,
  clientId: string,
  clientSecret: string | undefined,
  scope?: string,
): Promise<string> {
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (scope !== undefined) form.set('scope', scope);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (clientSecret === undefined) form.set('client_id', clientId);
  else
    headers.authorization = `Basic ${Buffer.from(
      `${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`,
    ).toString('base64')}`;
  const response = await fetch(`${baseUrl}/oauth/token`, { method: 'POST', headers, body: form });
  const body = (await response.json()) as { access_token?: string };
  if (response.status !== 200 || !body.access_token)
    throw new Error(`token request failed with ${response.status}: ${JSON.stringify(body)}`);
  return body.access_token;
}

export interface MerchantSession extends MerchantCredentials {
  /** A merchant token with every merchant scope. */
  readonly token: string;
  /** A publishable-key token (scope tokens:create only). */
  readonly publishableToken: string;
  /** Authorization (merchant token) and content-type JSON, plus `extra`. */
  headers(extra?: Readonly<Record<string, string>>): Record<string, string>;
}

export async function merchantSession(server: TestServer, name?: string): Promise<MerchantSession> {
  return merchantSessionAt(server.baseUrl, await createMerchantCredentials(server.database.sql, name));
}

/** A session for existing credentials, with tokens from the PayFlow at `baseUrl` (a spawned process). */
export async function merchantSessionAt(
  baseUrl: string,
  credentials: MerchantCredentials,
): Promise<MerchantSession> {
  const token = await fetchToken(baseUrl, credentials.clientId, credentials.clientSecret);
  const publishableToken = await fetchToken(baseUrl, credentials.publishableKey, undefined);
  return {
    ...credentials,
    merchantId: credentials.merchantId,
    token,
    publishableToken,
    headers: (extra = {}) => ({
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      ...extra,
    }),
  };
}

/** A token of a new admin client (cross-merchant reads, settlement, keys). */
export async function adminToken(server: TestServer): Promise<string> {
  const client = await createClientWith({ sql: server.database.sql, clock: systemClock }, { role: 'admin' });
  return fetchToken(server.baseUrl, client.clientId, client.clientSecret);
}

/** A token of a new service client (role `service`). */
export async function serviceToken(server: TestServer): Promise<string> {
  const client = await createClientWith(
    { sql: server.database.sql, clock: systemClock },
    { role: 'service' },
  );
  return fetchToken(server.baseUrl, client.clientId, client.clientSecret);
}

/**
 * An API call with a bearer token (an admin's, from adminToken): its status and JSON body. A string
 * body goes as it is, with `contentType` (a CSV report); anything else as JSON.
 */
export async function bearerCall(
  baseUrl: string,
  token: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': contentType }) },
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
