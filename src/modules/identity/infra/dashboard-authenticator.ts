// Requests from the dashboard carry a session cookie instead of a bearer token. This authenticator
// accepts either: a bearer token goes to the bearer authenticator unchanged; a session cookie
// becomes a merchant principal (an admin one for an operator, ADR 32) whose scopes are the user's role's (so every route's scope check
// enforces roles), and a state-changing request must also carry the session's CSRF token in
// `X-CSRF-Token` (the cookie is SameSite=Strict too; the token is the second lock).
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Clock } from '../../../platform/clock.ts';
import type { Sql } from '../../../platform/db/client.ts';
import { DomainError } from '../../../platform/errors.ts';
import type { Principal, RequestAuthenticator } from '../../../platform/http/auth.ts';
import { sha256Hex } from '../application/dashboard-users.ts';
import { dashboardScopes } from '../domain/dashboard-users.ts';
import { findActiveSession, type ActiveSession } from './dashboard-repository.ts';

export const sessionCookieName = 'payflow_session';
export const csrfHeaderName = 'x-csrf-token';
const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);
const cookieValueLengthMax = 200;

/** The value of one cookie from a Cookie header; undefined when absent or oversized. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const separator = part.indexOf('=');
    if (separator < 0 || part.slice(0, separator).trim() !== name) continue;
    const value = part.slice(separator + 1).trim();
    return value.length > 0 && value.length <= cookieValueLengthMax ? value : undefined;
  }
  return undefined;
}

export function sessionTokenOf(request: FastifyRequest): string | undefined {
  return cookieValue(request.headers.cookie, sessionCookieName);
}

const signInAgain = () =>
  new DomainError(
    'session_expired',
    401,
    'Your session has ended; sign in again.',
    {},
    {
      'www-authenticate': 'Bearer realm="payflow"',
    },
  );

export async function activeSessionOf(
  sql: Sql,
  clock: Clock,
  request: FastifyRequest,
): Promise<{ token: string; session: ActiveSession }> {
  const token = sessionTokenOf(request);
  const session = token ? await findActiveSession(sql, sha256Hex(token), clock.now()) : undefined;
  if (!token || !session) throw signInAgain();
  return { token, session };
}

function csrfMatches(header: string | string[] | undefined, expectedHash: string): boolean {
  if (typeof header !== 'string' || header.length === 0 || header.length > cookieValueLengthMax) return false;
  return timingSafeEqual(Buffer.from(sha256Hex(header), 'hex'), Buffer.from(expectedHash, 'hex'));
}

export function createDashboardAwareAuthenticator(
  bearer: RequestAuthenticator,
  dependencies: { sql: Sql; clock: Clock },
): RequestAuthenticator {
  const resolved = new WeakMap<FastifyRequest, Promise<Principal>>();

  async function bySession(request: FastifyRequest): Promise<Principal> {
    const { session } = await activeSessionOf(dependencies.sql, dependencies.clock, request);
    if (!safeMethods.has(request.method) && !csrfMatches(request.headers[csrfHeaderName], session.csrfHash))
      throw new DomainError(
        'csrf_token_invalid',
        403,
        'This change needs the X-CSRF-Token header of your dashboard session.',
      );
    // An operator (ADR 32) is an admin principal: the /v1/admin routes' scope checks decide.
    return {
      clientId: session.userId,
      role: session.role === 'operator' ? 'admin' : 'merchant',
      merchantId: session.merchantId,
      scopes: new Set(dashboardScopes[session.role]),
    };
  }

  return {
    authenticate(request) {
      const useSession = !request.headers.authorization && sessionTokenOf(request) !== undefined;
      if (!useSession) return bearer.authenticate(request);
      let principal = resolved.get(request);
      if (!principal) {
        principal = bySession(request);
        resolved.set(request, principal);
      }
      return principal;
    },
  };
}
