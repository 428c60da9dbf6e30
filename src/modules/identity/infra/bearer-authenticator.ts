// Verifies `Authorization: Bearer <jwt>`: only ES256/EdDSA (never `none` or HMAC), a kid the key ring
// knows, the key's own algorithm, iss, aud, exp and nbf with a small leeway, and well-formed PayFlow
// claims, and that its client's token generation is not revoked (disabled client, rotated secret:
// an in-memory list, see client-revocations.ts). Every failure is a 401 problem with
// `WWW-Authenticate: Bearer error="invalid_token"`. A verified token is kept in memory for at most a
// minute (ADR 18), so its signature is not checked again on every request; its expiry, kid and
// revocation still are, on every use. The reason (and the client id, never the token)
// goes to the log, the caller learns only that the token was not accepted.
import type { FastifyRequest } from 'fastify';
import { errors as joseErrors, jwtVerify, type JWTHeaderParameters, type JWTPayload } from 'jose';
import type { Clock } from '../../../platform/clock.ts';
import { DomainError } from '../../../platform/errors.ts';
import {
  principalRoles,
  type Principal,
  type PrincipalRole,
  type RequestAuthenticator,
} from '../../../platform/http/auth.ts';
import type { RevocationCheck } from './client-revocations.ts';
import type { KeyRing } from './key-ring.ts';

export const allowedAlgorithms = ['ES256', 'EdDSA'] as const;
export const tokenLengthMax = 4096;
/** Verified tokens kept in memory (ADR 18): at most this many, each for at most `verifiedTokenTtlMs`. */
export const verifiedTokensMax = 10_000;
export const verifiedTokenTtlMs = 60_000;

/**
 * A token whose signature and claims were verified: reused without a new signature check until it
 * expires (or `verifiedTokenTtlMs` passes), while its kid is still a verification key and its client's
 * generation is not revoked, both checked on every use.
 */
interface VerifiedToken {
  readonly principal: Principal;
  readonly generation: number;
  readonly kid: string;
  readonly algorithm: string;
  readonly notBeforeMs: number;
  readonly expiresMs: number;
  readonly cachedUntilMs: number;
}

/** A RequestAuthenticator that can also verify a raw token (401 DomainError when it is not valid). */
export interface BearerAuthenticator extends RequestAuthenticator {
  verify(token: string): Promise<Principal>;
}

export interface VerificationSettings {
  readonly issuer: string;
  readonly audience: string;
  readonly leewaySeconds: number;
}

function unauthorized(
  code: 'invalid_token' | 'authentication_required',
  detail: string,
  description: string | undefined,
): DomainError {
  // RFC 6750 §3.1: a request with no credentials gets a bare challenge, without an error code.
  const challenge =
    description === undefined
      ? 'Bearer realm="payflow"'
      : `Bearer realm="payflow", error="invalid_token", error_description="${description}"`;
  return new DomainError(code, 401, detail, {}, { 'www-authenticate': challenge });
}

class TokenRejected extends Error {
  constructor(
    reason: string,
    readonly clientId?: string,
  ) {
    super(reason);
  }
}

/** The `generation` claim; tokens issued before generations existed count as generation 1. */
function generationOf(payload: JWTPayload): number {
  const generation = payload['generation'];
  if (generation === undefined) return 1;
  if (typeof generation !== 'number' || !Number.isSafeInteger(generation) || generation < 1)
    throw new TokenRejected('generation invalid');
  return generation;
}

function claimsToPrincipal(payload: JWTPayload): Principal {
  const role = payload['role'];
  const scope = payload['scope'];
  const merchantId = payload['merchant_id'];
  if (typeof payload.sub !== 'string' || payload.sub === '') throw new TokenRejected('sub missing');
  if (typeof role !== 'string' || !principalRoles.includes(role as PrincipalRole))
    throw new TokenRejected('role invalid');
  if (typeof scope !== 'string') throw new TokenRejected('scope missing');
  const actsForMerchant = role === 'merchant' || role === 'publishable';
  if (actsForMerchant !== (typeof merchantId === 'string' && merchantId !== ''))
    throw new TokenRejected('merchant_id does not fit the role');
  return {
    clientId: payload.sub,
    role: role as PrincipalRole,
    merchantId: actsForMerchant ? (merchantId as string) : undefined,
    scopes: new Set(scope.split(' ').filter((item) => item !== '')),
  };
}

/**
 * A revocation list that could not be refreshed for longer than its bound may miss a revocation:
 * the token is neither accepted nor called invalid, the request gets 503 (fail closed, ADR 15).
 */
function assertRevocationsCurrent(revocations: RevocationCheck): void {
  const staleMs = revocations.staleForMs();
  if (staleMs === undefined) return;
  throw new DomainError(
    'revocations_unavailable',
    503,
    'Access tokens cannot be checked right now (the revocation list could not be refreshed). Retry shortly.',
    {},
    { 'retry-after': '1' },
  );
}

export function createBearerAuthenticator(
  keyRing: KeyRing,
  clock: Clock,
  settings: VerificationSettings,
  log: { info(object: object, message: string): void },
  revocations: RevocationCheck,
): BearerAuthenticator {
  const verified = new WeakMap<FastifyRequest, Promise<Principal>>();
  const verifiedTokens = new Map<string, VerifiedToken>();
  const leewayMs = settings.leewaySeconds * 1000;

  async function reuse(token: string): Promise<Principal | undefined> {
    const cached = verifiedTokens.get(token);
    if (!cached) return undefined;
    const nowMs = clock.now().getTime();
    const key = await keyRing.verificationKey(cached.kid);
    if (
      nowMs >= cached.cachedUntilMs ||
      nowMs >= cached.expiresMs + leewayMs ||
      nowMs < cached.notBeforeMs - leewayMs ||
      !key ||
      key.algorithm !== cached.algorithm
    ) {
      verifiedTokens.delete(token);
      return undefined; // verified again from scratch, with the reason it fails if it does
    }
    assertRevocationsCurrent(revocations);
    const refusal = revocations.refusal(cached.principal.clientId, cached.generation);
    if (refusal) throw new TokenRejected(refusal, cached.principal.clientId);
    return cached.principal;
  }

  function remember(token: string, entry: VerifiedToken): void {
    if (verifiedTokens.size >= verifiedTokensMax) {
      // The oldest entry goes first (a Map iterates in insertion order).
      const oldest = verifiedTokens.keys().next().value;
      if (oldest !== undefined) verifiedTokens.delete(oldest);
    }
    verifiedTokens.set(token, entry);
  }

  async function verify(token: string): Promise<Principal> {
    if (token.length > tokenLengthMax) throw new TokenRejected('token too long');
    const reused = await reuse(token);
    if (reused) return reused;
    let kid = '';
    let algorithm = '';
    const resolveKey = async (header: JWTHeaderParameters) => {
      if (typeof header.kid !== 'string') throw new TokenRejected('kid missing');
      const key = await keyRing.verificationKey(header.kid);
      if (!key) throw new TokenRejected('unknown kid');
      if (key.algorithm !== header.alg) throw new TokenRejected('alg does not match the key');
      kid = header.kid;
      algorithm = key.algorithm;
      return key.key;
    };
    const { payload } = await jwtVerify(token, resolveKey, {
      algorithms: [...allowedAlgorithms],
      issuer: settings.issuer,
      audience: settings.audience,
      clockTolerance: settings.leewaySeconds,
      currentDate: clock.now(),
      requiredClaims: ['exp', 'iat', 'nbf', 'sub', 'jti'],
    });
    const principal = claimsToPrincipal(payload);
    const generation = generationOf(payload);
    assertRevocationsCurrent(revocations);
    const refusal = revocations.refusal(principal.clientId, generation);
    if (refusal) throw new TokenRejected(refusal, principal.clientId);
    const nowMs = clock.now().getTime();
    remember(token, {
      principal,
      generation,
      kid,
      algorithm,
      notBeforeMs: (payload.nbf ?? 0) * 1000,
      expiresMs: payload.exp! * 1000,
      cachedUntilMs: nowMs + verifiedTokenTtlMs,
    });
    return principal;
  }

  function rejection(error: unknown, log: { info(object: object, message: string): void }): unknown {
    if (!(error instanceof TokenRejected || error instanceof joseErrors.JOSEError)) return error;
    const expired = error instanceof joseErrors.JWTExpired;
    const clientId = error instanceof TokenRejected ? error.clientId : undefined;
    log.info({ reason: error.message, ...(clientId ? { clientId } : {}) }, 'access token rejected');
    return unauthorized(
      'invalid_token',
      expired ? 'The access token has expired.' : 'The access token is not valid.',
      expired ? 'expired' : 'invalid',
    );
  }

  async function authenticate(request: FastifyRequest): Promise<Principal> {
    const header = request.headers.authorization;
    if (header === undefined || header === '')
      throw unauthorized(
        'authentication_required',
        'Send an access token: Authorization: Bearer <token> (get one from POST /oauth/token).',
        undefined,
      );
    const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(header);
    if (!match)
      throw unauthorized('invalid_token', 'The Authorization header is not a Bearer token.', 'malformed');
    try {
      return await verify(match[1]!);
    } catch (error) {
      throw rejection(error, request.log);
    }
  }

  return {
    async verify(token) {
      try {
        return await verify(token);
      } catch (error) {
        throw rejection(error, log);
      }
    },
    authenticate(request) {
      // Gateway (rate limits) and route (scopes) both authenticate; verify once per request.
      let principal = verified.get(request);
      if (!principal) {
        principal = authenticate(request);
        verified.set(request, principal);
      }
      return principal;
    },
  };
}
