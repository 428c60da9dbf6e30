// Dashboard users: create one (CLI), sign in (password → cookie session + CSRF token), sign out.
// Phases of sign-in: normalize → load the user → verify the password (scrypt; a decoy hash for an
// unknown email, so timing does not tell which addresses exist) → lockout bookkeeping → new session.
// No outside calls.
import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../../../platform/clock.ts';
import type { Sql } from '../../../platform/db/client.ts';
import { DomainError } from '../../../platform/errors.ts';
import { newId } from '../../../platform/ids.ts';
import {
  isDashboardRole,
  isLocked,
  lockoutMs,
  normalizeEmail,
  passwordLengthMax,
  passwordLengthMin,
  sessionLifetimeMs,
  signInFailuresMax,
  type DashboardRole,
} from '../domain/dashboard-users.ts';
import { hashClientSecret, verifyClientSecret } from '../domain/secrets.ts';
import {
  findDashboardUserByEmail,
  insertDashboardSession,
  insertDashboardUser,
  recordFailedSignIn,
  recordSignIn,
  revokeDashboardSession,
} from '../infra/dashboard-repository.ts';
import { merchantExists } from '../infra/identity-repository.ts';

type Dependencies = { readonly sql: Sql; readonly clock: Clock };

export const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * The CSRF token of a session, derived from its cookie value: the page can get it again after a
 * reload (GET /dashboard/api/session), and a page on another site, which cannot read the cookie,
 * cannot make it. Only its hash is stored.
 */
export const csrfTokenOf = (sessionToken: string) =>
  createHash('sha256').update(`payflow csrf:${sessionToken}`).digest('base64url');

export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

export async function createDashboardUser(
  dependencies: Dependencies,
  input: { merchantId?: string | undefined; email: string; role: string; password?: string | undefined },
): Promise<{
  userId: string;
  merchantId: string | undefined;
  email: string;
  role: DashboardRole;
  password: string;
}> {
  const email = normalizeEmail(input.email);
  if (!email) throw new DomainError('invalid_email', 422, 'email must be an email address.');
  if (!isDashboardRole(input.role))
    throw new DomainError('invalid_role', 422, 'role must be one of owner, developer, analyst, operator.');
  const password = input.password ?? generatePassword();
  if (password.length < passwordLengthMin || password.length > passwordLengthMax)
    throw new DomainError(
      'invalid_password',
      422,
      `password must be ${passwordLengthMin} to ${passwordLengthMax} characters.`,
    );
  // An operator (ADR 32) belongs to no merchant; every other role to exactly one that exists.
  const merchantId = input.role === 'operator' ? undefined : input.merchantId;
  if (input.role === 'operator' && input.merchantId !== undefined)
    throw new DomainError('invalid_role', 422, 'An operator belongs to no merchant: leave the merchant out.');
  if (
    input.role !== 'operator' &&
    (merchantId === undefined || !(await merchantExists(dependencies.sql, merchantId)))
  )
    throw new DomainError('merchant_not_found', 404, 'No merchant has this id.');
  const userId = newId('usr', dependencies.clock.now().getTime());
  try {
    await insertDashboardUser(
      dependencies.sql,
      {
        userId,
        merchantId,
        email,
        role: input.role,
        passwordHash: await hashClientSecret(password),
      },
      dependencies.clock.now(),
    );
  } catch (error) {
    if ((error as { code?: string }).code === '23505')
      throw new DomainError('email_taken', 409, 'A dashboard user with this email exists.');
    throw error;
  }
  return { userId, merchantId, email, role: input.role, password };
}

export interface SignedIn {
  /** The cookie value (shown to the browser once; only its hash is stored). */
  readonly sessionToken: string;
  readonly csrfToken: string;
  readonly expiresAt: Date;
  readonly user: {
    readonly userId: string;
    /** Undefined for an operator. */
    readonly merchantId: string | undefined;
    readonly email: string;
    readonly role: DashboardRole;
  };
}

const invalidCredentials = () =>
  new DomainError('invalid_credentials', 401, 'The email or password is not right.');

export async function signIn(dependencies: Dependencies, email: string, password: string): Promise<SignedIn> {
  const now = dependencies.clock.now();
  const normalized = normalizeEmail(email);
  const user = normalized ? await findDashboardUserByEmail(dependencies.sql, normalized) : undefined;
  // Always one scrypt, found or not: the answer time does not say whether the address exists.
  const matches = await verifyClientSecret(password, user?.passwordHash);
  if (!user || user.disabled) throw invalidCredentials();
  if (isLocked(user.lockedUntil, now)) {
    const retryAfterSeconds = Math.ceil((user.lockedUntil!.getTime() - now.getTime()) / 1000);
    throw new DomainError(
      'account_locked',
      429,
      'Too many failed sign-ins: this account is locked for a while.',
      { retryAfterSeconds },
      { 'retry-after': String(retryAfterSeconds) },
    );
  }
  if (!matches) {
    await recordFailedSignIn(
      dependencies.sql,
      user.userId,
      signInFailuresMax,
      new Date(now.getTime() + lockoutMs),
    );
    throw invalidCredentials();
  }
  await recordSignIn(dependencies.sql, user.userId);
  const sessionToken = randomBytes(32).toString('base64url');
  const csrfToken = csrfTokenOf(sessionToken);
  const expiresAt = new Date(now.getTime() + sessionLifetimeMs);
  await insertDashboardSession(dependencies.sql, {
    sessionHash: sha256Hex(sessionToken),
    userId: user.userId,
    csrfHash: sha256Hex(csrfToken),
    createdAt: now,
    expiresAt,
  });
  return {
    sessionToken,
    csrfToken,
    expiresAt,
    user: { userId: user.userId, merchantId: user.merchantId, email: user.email, role: user.role },
  };
}

export async function signOut(dependencies: Dependencies, sessionToken: string): Promise<void> {
  await revokeDashboardSession(dependencies.sql, sha256Hex(sessionToken), dependencies.clock.now());
}
