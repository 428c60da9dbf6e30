// The authentication contract every module's routes use. The identity module implements
// `RequestAuthenticator` (it verifies bearer JWTs); other modules only see a `Principal` and ask for
// scopes, so none of them knows how tokens work. Every query a merchant makes is scoped by
// `principal.merchantId` taken from the token, never from the request body.
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { DomainError } from '../errors.ts';
import { markScopes } from './openapi.ts';

export const principalRoles = ['merchant', 'publishable', 'admin', 'service'] as const;
export type PrincipalRole = (typeof principalRoles)[number];

export interface Principal {
  readonly clientId: string;
  readonly role: PrincipalRole;
  /** The merchant the token acts for; undefined for admin and service tokens. */
  readonly merchantId: string | undefined;
  readonly scopes: ReadonlySet<string>;
}

export interface RequestAuthenticator {
  /** Resolves the caller, or throws a DomainError (401 with WWW-Authenticate). */
  authenticate(request: FastifyRequest): Promise<Principal>;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | undefined;
  }
}

/** A preHandler that authenticates the request and demands every scope listed (403 otherwise). */
export function requireScopes(
  authenticator: RequestAuthenticator,
  ...scopes: readonly string[]
): preHandlerAsyncHookHandler {
  return markScopes(async (request: FastifyRequest, _reply: FastifyReply) => {
    const principal = await authenticator.authenticate(request);
    request.principal = principal;
    const missing = scopes.filter((scope) => !principal.scopes.has(scope));
    if (missing.length > 0) {
      throw new DomainError('insufficient_scope', 403, `This token lacks the scope ${missing.join(', ')}.`, {
        requiredScopes: scopes,
      });
    }
  }, scopes);
}

/** The principal set by requireScopes; a programmer error if the route forgot the preHandler. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('route has no authentication preHandler');
  return request.principal;
}

/** The merchant a merchant-scoped route acts for (403 for tokens that belong to no merchant). */
export function merchantIdOf(request: FastifyRequest): string {
  const principal = principalOf(request);
  if (!principal.merchantId) {
    throw new DomainError(
      'merchant_token_required',
      403,
      'This route acts for a merchant; use a merchant token.',
    );
  }
  return principal.merchantId;
}
