// SQL of the checkout module (schema `checkout`). Rows stop here: callers get CheckoutSession.
import type { Queryable } from '../../../platform/db/client.ts';
import type { CurrencyCode } from '../../../platform/money.ts';
import type { CheckoutSession, StoredSessionStatus } from '../domain/session.ts';

interface SessionRow {
  readonly id: string;
  readonly merchant_id: string;
  readonly amount: bigint;
  readonly currency: string;
  readonly description: string;
  readonly success_url: string;
  readonly cancel_url: string;
  readonly capture: boolean;
  readonly status: StoredSessionStatus;
  readonly created_at: Date;
  readonly expires_at: Date;
  readonly attempt_key: string | null;
  readonly attempt_token: string | null;
  readonly attempt_started_at: Date | null;
  readonly attempt_payer_ip: string | null;
  readonly attempts: number;
  readonly payment_id: string | null;
  readonly completed_at: Date | null;
}

function toSession(row: SessionRow): CheckoutSession {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    amount: row.amount,
    currency: row.currency as CurrencyCode,
    description: row.description,
    successUrl: row.success_url,
    cancelUrl: row.cancel_url,
    capture: row.capture,
    status: row.status,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    attempt:
      row.attempt_key !== null && row.attempt_token !== null && row.attempt_started_at !== null
        ? {
            key: row.attempt_key,
            token: row.attempt_token,
            startedAt: row.attempt_started_at,
            payerIp: row.attempt_payer_ip ?? undefined,
          }
        : undefined,
    attempts: row.attempts,
    paymentId: row.payment_id ?? undefined,
    completedAt: row.completed_at ?? undefined,
  };
}

export async function insertSession(sql: Queryable, session: CheckoutSession): Promise<void> {
  await sql`
    insert into checkout.sessions (id, merchant_id, amount, currency, description, success_url, cancel_url,
                                   capture, status, created_at, expires_at)
    values (${session.id}, ${session.merchantId}, ${session.amount}, ${session.currency}, ${session.description},
            ${session.successUrl}, ${session.cancelUrl}, ${session.capture}, ${session.status},
            ${session.createdAt}, ${session.expiresAt})`;
}

/** A session by id; with `merchantId`, only that merchant's. */
export async function findSession(
  sql: Queryable,
  id: string,
  merchantId?: string,
): Promise<CheckoutSession | undefined> {
  const [row] = await sql<SessionRow[]>`
    select * from checkout.sessions
    where id = ${id} ${merchantId === undefined ? sql`` : sql`and merchant_id = ${merchantId}`}`;
  return row ? toSession(row) : undefined;
}

export async function lockSession(sql: Queryable, id: string): Promise<CheckoutSession | undefined> {
  const [row] = await sql<SessionRow[]>`select * from checkout.sessions where id = ${id} for update`;
  return row ? toSession(row) : undefined;
}

export async function startAttempt(
  sql: Queryable,
  id: string,
  attempt: { key: string; token: string; startedAt: Date; payerIp: string | undefined },
): Promise<void> {
  await sql`
    update checkout.sessions
    set attempt_key = ${attempt.key}, attempt_token = ${attempt.token}, attempt_started_at = ${attempt.startedAt},
        attempt_payer_ip = ${attempt.payerIp ?? null},
        attempts = attempts + 1
    where id = ${id} and status = 'open'`;
}

/** Clears the attempt if it is still the one named (a failed card leaves the session payable). */
export async function clearAttempt(sql: Queryable, id: string, key: string): Promise<void> {
  await sql`
    update checkout.sessions
    set attempt_key = null, attempt_token = null, attempt_started_at = null, attempt_payer_ip = null
    where id = ${id} and attempt_key = ${key} and status = 'open'`;
}

/** Completes an open session (its attempt stays: the one that paid); false when it was not open. */
export async function completeSession(
  sql: Queryable,
  id: string,
  completion: { paymentId: string; completedAt: Date },
): Promise<boolean> {
  const rows = await sql`
    update checkout.sessions
    set status = 'completed', payment_id = ${completion.paymentId}, completed_at = ${completion.completedAt}
    where id = ${id} and status = 'open'`;
  return rows.count === 1;
}

export interface MerchantClientRow {
  readonly client_id: string;
  readonly client_secret_sealed: string;
}

export async function findMerchantClient(
  sql: Queryable,
  merchantId: string,
): Promise<MerchantClientRow | undefined> {
  const [row] = await sql<MerchantClientRow[]>`
    select client_id, client_secret_sealed from checkout.merchant_clients where merchant_id = ${merchantId}`;
  return row;
}

/** Stores the merchant's checkout client unless one exists already (two first sessions at once). */
export async function insertMerchantClient(
  sql: Queryable,
  client: { merchantId: string; clientId: string; clientSecretSealed: string; createdAt: Date },
): Promise<void> {
  await sql`
    insert into checkout.merchant_clients (merchant_id, client_id, client_secret_sealed, created_at)
    values (${client.merchantId}, ${client.clientId}, ${client.clientSecretSealed}, ${client.createdAt})
    on conflict (merchant_id) do nothing`;
}
