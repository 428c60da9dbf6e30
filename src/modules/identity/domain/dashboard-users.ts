// Dashboard users: their roles and what each may do (as token scopes, so every route's existing
// scope check is the one rule), and the sign-in lockout. Pure.
import { merchantScopes } from './scopes.ts';

export const dashboardRoles = ['owner', 'developer', 'analyst', 'operator'] as const;
export type DashboardRole = (typeof dashboardRoles)[number];
/** The merchant roles; `operator` (ADR 32) belongs to no merchant and acts as an admin. */
export const merchantDashboardRoles = ['owner', 'developer', 'analyst'] as const;

/**
 * Dashboard-only scopes (no API client holds them, so a merchant token cannot mint or rotate API
 * clients): reading and managing the merchant's API clients on the Developers page.
 */
export const clientsReadScope = 'clients:read';
export const clientsWriteScope = 'clients:write';

/**
 * owner: everything a merchant token can do, and the API clients. developer: payments, tokens,
 * webhooks and API clients, but no refunds (money leaving). analyst: reads only. operator: the
 * admin scopes of the operator view (ADR 32) — not `admin:keys` nor `metrics:read`, which stay with
 * admin API clients — and none of a merchant's.
 */
export const dashboardScopes: Readonly<Record<DashboardRole, readonly string[]>> = {
  owner: [...merchantScopes, clientsReadScope, clientsWriteScope],
  developer: [
    ...merchantScopes.filter((scope) => scope !== 'refunds:write'),
    clientsReadScope,
    clientsWriteScope,
  ],
  analyst: ['payments:read', 'balance:read', 'webhooks:read', 'tokens:read', clientsReadScope],
  operator: ['admin:read', 'admin:settlement', 'admin:clients', 'admin:events'],
};

/** Failed sign-ins in a row that lock an account, and for how long. */
export const signInFailuresMax = 5;
export const lockoutMs = 15 * 60_000;
/** A session's life from sign-in (absolute; signing in again starts a new one). */
export const sessionLifetimeMs = 8 * 3_600_000;
/** Passwords: at least 12 characters; at most 200 (no scrypt on megabyte inputs). */
export const passwordLengthMin = 12;
export const passwordLengthMax = 200;

export function isDashboardRole(value: string | undefined): value is DashboardRole {
  return dashboardRoles.includes(value as DashboardRole);
}

export function normalizeEmail(email: string): string | undefined {
  const trimmed = email.trim().toLowerCase();
  return /^[^@\s]{1,64}@[^@\s]{1,253}$/.test(trimmed) ? trimmed : undefined;
}

export function isLocked(lockedUntil: Date | undefined, now: Date): boolean {
  return lockedUntil !== undefined && lockedUntil.getTime() > now.getTime();
}
