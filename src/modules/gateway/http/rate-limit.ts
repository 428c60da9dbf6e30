// Rate limits at the edge, before the body is read: one bucket per API client (size by role), and
// one per client IP for the token endpoint and for calls without a valid token. Answers carry
// RateLimit-Limit/-Remaining/-Reset (draft-ietf-httpapi-ratelimit-headers); a refusal is a 429
// problem with Retry-After.
import type { FastifyRequest } from 'fastify';
import type { GatewayVariables } from '../settings.ts';
import { DomainError } from '../../../platform/errors.ts';
import type { HttpApp } from '../../../platform/http/app.ts';
import type { Principal, PrincipalRole, RequestAuthenticator } from '../../../platform/http/auth.ts';
import type { BucketStore } from '../infra/bucket-store.ts';

/** Paths never limited: probes of orchestrators and the static API reference. */
const exemptPaths = [/^\/healthz$/, /^\/readyz$/, /^\/docs(\/|$)/];
/** Paths always limited per IP, whatever the Authorization header says. */
const perAddressPaths = new Set(['/oauth/token']);

async function principalOrUndefined(
  authenticator: RequestAuthenticator,
  request: FastifyRequest,
): Promise<Principal | undefined> {
  if (!request.headers.authorization) return undefined;
  try {
    return await authenticator.authenticate(request);
  } catch {
    return undefined; // the route answers 401 itself; meanwhile the caller counts as anonymous
  }
}

export function registerRateLimits(
  app: HttpApp,
  options: {
    authenticator: RequestAuthenticator;
    store: BucketStore;
    limits: GatewayVariables['rateLimits'];
    windowSeconds: number;
  },
): void {
  const windowMs = options.windowSeconds * 1000;
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    if (exemptPaths.some((pattern) => pattern.test(path))) return;
    const principal = perAddressPaths.has(path)
      ? undefined
      : await principalOrUndefined(options.authenticator, request);
    const role: PrincipalRole | 'anonymous' = principal?.role ?? 'anonymous';
    const capacity = options.limits[role];
    if (capacity === 0) return;
    const key = principal ? `client:${principal.clientId}` : `ip:${request.ip}`;
    const result = await options.store.take(key, { capacity, windowMs });
    const headers: Record<string, string> = {
      'ratelimit-limit': String(capacity),
      'ratelimit-remaining': String(result.remaining),
      'ratelimit-reset': String(Math.ceil(result.resetMs / 1000)),
    };
    reply.headers(headers);
    if (!result.allowed) {
      const retryAfterSeconds = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
      throw new DomainError(
        'rate_limited',
        429,
        `Too many requests; retry after ${retryAfterSeconds} s.`,
        { retryAfterSeconds },
        { ...headers, 'retry-after': String(retryAfterSeconds) },
      );
    }
  });
}
