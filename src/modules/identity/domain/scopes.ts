// Roles and the scopes each may hold. A token carries the scopes its client was granted, narrowed to
// what the token request asked for; asking for a scope outside the grant is `invalid_scope`.
import type { PrincipalRole } from '../../../platform/http/auth.ts';

export const merchantScopes = [
  'payments:read',
  'payments:write',
  'refunds:write',
  'tokens:create',
  'tokens:read',
  'balance:read',
  'webhooks:read',
  'webhooks:write',
] as const;

export const publishableScopes = ['tokens:create'] as const;

/**
 * Operator scopes: cross-merchant reads, settlement operations, key, merchant and client management,
 * replaying dead-lettered events.
 */
export const adminScopes = [
  'admin:read',
  'admin:settlement',
  'admin:keys',
  'admin:clients',
  'admin:events',
  'metrics:read',
] as const;

export const serviceScopes = ['service', 'metrics:read'] as const;

export const scopesByRole: Readonly<Record<PrincipalRole, readonly string[]>> = {
  merchant: merchantScopes,
  publishable: publishableScopes,
  admin: adminScopes,
  service: serviceScopes,
};

const scopeToken = /^[\x21\x23-\x5b\x5d-\x7e]+$/; // RFC 6749 §3.3 scope-token characters
export const scopeCountMax = 50;

export type ScopeResolution =
  { readonly ok: true; readonly scopes: readonly string[] } | { readonly ok: false; readonly reason: string };

/**
 * The scopes a token gets: all granted scopes when none are requested, else the requested ones, each
 * of which must be granted (RFC 6749 §3.3).
 */
export function resolveScopes(granted: readonly string[], requested: string | undefined): ScopeResolution {
  if (requested === undefined || requested.trim() === '') return { ok: true, scopes: [...granted] };
  const asked = [...new Set(requested.split(' ').filter((item) => item !== ''))];
  if (asked.length > scopeCountMax) return { ok: false, reason: 'too many scopes requested' };
  for (const scope of asked) {
    if (!scopeToken.test(scope)) return { ok: false, reason: 'a scope contains characters RFC 6749 forbids' };
    if (!granted.includes(scope))
      return { ok: false, reason: `the scope ${scope.slice(0, 60)} is not granted to this client` };
  }
  return { ok: true, scopes: asked };
}
