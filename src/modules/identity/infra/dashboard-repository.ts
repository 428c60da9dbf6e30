// SQL of dashboard users and their sessions (schema `identity`).
import type { Queryable } from '../../../platform/db/client.ts';
import type { DashboardRole } from '../domain/dashboard-users.ts';

export interface DashboardUser {
  readonly userId: string;
  /** Undefined for an operator (ADR 32). */
  readonly merchantId: string | undefined;
  readonly email: string;
  readonly role: DashboardRole;
  readonly passwordHash: string;
  readonly lockedUntil: Date | undefined;
  readonly disabled: boolean;
}

interface UserRow {
  readonly user_id: string;
  readonly merchant_id: string | null;
  readonly email: string;
  readonly role: DashboardRole;
  readonly password_hash: string;
  readonly locked_until: Date | null;
  readonly disabled_at: Date | null;
}

const toUser = (row: UserRow): DashboardUser => ({
  userId: row.user_id,
  merchantId: row.merchant_id ?? undefined,
  email: row.email,
  role: row.role,
  passwordHash: row.password_hash,
  lockedUntil: row.locked_until ?? undefined,
  disabled: row.disabled_at !== null,
});

export async function insertDashboardUser(
  sql: Queryable,
  user: {
    userId: string;
    merchantId: string | undefined;
    email: string;
    role: DashboardRole;
    passwordHash: string;
  },
  at: Date,
): Promise<void> {
  await sql`
    insert into identity.dashboard_users (user_id, merchant_id, email, role, password_hash, created_at)
    values (${user.userId}, ${user.merchantId ?? null}, ${user.email}, ${user.role}, ${user.passwordHash}, ${at})`;
}

export async function findDashboardUserByEmail(
  sql: Queryable,
  email: string,
): Promise<DashboardUser | undefined> {
  const [row] = await sql<UserRow[]>`
    select u.user_id, u.merchant_id, u.email, u.role, u.password_hash, u.locked_until,
           coalesce(u.disabled_at, m.disabled_at) as disabled_at
    from identity.dashboard_users u left join identity.merchants m using (merchant_id)
    where u.email = ${email}`;
  return row ? toUser(row) : undefined;
}

/** Counts a failed sign-in; the one that reaches `failuresMax` locks the account until `lockUntil`. */
export async function recordFailedSignIn(
  sql: Queryable,
  userId: string,
  failuresMax: number,
  lockUntil: Date,
): Promise<void> {
  await sql`
    update identity.dashboard_users
    set failed_sign_ins = case when failed_sign_ins + 1 >= ${failuresMax} then 0 else failed_sign_ins + 1 end,
        locked_until = case when failed_sign_ins + 1 >= ${failuresMax} then ${lockUntil} else locked_until end
    where user_id = ${userId}`;
}

export async function recordSignIn(sql: Queryable, userId: string): Promise<void> {
  await sql`
    update identity.dashboard_users set failed_sign_ins = 0, locked_until = null where user_id = ${userId}`;
}

export async function insertDashboardSession(
  sql: Queryable,
  session: { sessionHash: string; userId: string; csrfHash: string; createdAt: Date; expiresAt: Date },
): Promise<void> {
  await sql`
    insert into identity.dashboard_sessions (session_hash, user_id, csrf_hash, created_at, expires_at)
    values (${session.sessionHash}, ${session.userId}, ${session.csrfHash}, ${session.createdAt}, ${session.expiresAt})`;
}

export interface ActiveSession {
  readonly userId: string;
  /** Undefined for an operator (ADR 32). */
  readonly merchantId: string | undefined;
  readonly email: string;
  readonly role: DashboardRole;
  readonly csrfHash: string;
}

/** The session if it is current and its user enabled; undefined otherwise. */
export async function findActiveSession(
  sql: Queryable,
  sessionHash: string,
  now: Date,
): Promise<ActiveSession | undefined> {
  const [row] = await sql<
    { user_id: string; merchant_id: string | null; email: string; role: DashboardRole; csrf_hash: string }[]
  >`
    select u.user_id, u.merchant_id, u.email, u.role, s.csrf_hash
    from identity.dashboard_sessions s join identity.dashboard_users u using (user_id)
    where s.session_hash = ${sessionHash} and s.revoked_at is null and s.expires_at > ${now}
      and u.disabled_at is null
      and (u.merchant_id is null or exists (
        select 1 from identity.merchants m where m.merchant_id = u.merchant_id and m.disabled_at is null))`;
  return row
    ? {
        userId: row.user_id,
        merchantId: row.merchant_id ?? undefined,
        email: row.email,
        role: row.role,
        csrfHash: row.csrf_hash,
      }
    : undefined;
}

export async function revokeDashboardSession(sql: Queryable, sessionHash: string, now: Date): Promise<void> {
  await sql`
    update identity.dashboard_sessions set revoked_at = ${now}
    where session_hash = ${sessionHash} and revoked_at is null`;
}
