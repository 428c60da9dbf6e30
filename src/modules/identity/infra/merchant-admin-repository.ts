// SQL of the operator view's merchants (ADR 32): the list with each merchant's state, and the
// merchant-level half of disabling one (its clients go through client-access-repository).
import type { Queryable, TransactionSql } from '../../../platform/db/client.ts';

export interface MerchantSummary {
  readonly merchantId: string;
  readonly name: string;
  readonly email: string | undefined;
  readonly createdAt: Date;
  readonly disabledAt: Date | undefined;
  readonly disabledReason: string | undefined;
  readonly activeClients: number;
  readonly dashboardUsers: number;
}

interface SummaryRow {
  merchant_id: string;
  name: string;
  email: string | null;
  created_at: Date;
  disabled_at: Date | null;
  disabled_reason: string | null;
  active_clients: number;
  dashboard_users: number;
}

const toSummary = (row: SummaryRow): MerchantSummary => ({
  merchantId: row.merchant_id,
  name: row.name,
  email: row.email ?? undefined,
  createdAt: row.created_at,
  disabledAt: row.disabled_at ?? undefined,
  disabledReason: row.disabled_reason ?? undefined,
  activeClients: row.active_clients,
  dashboardUsers: row.dashboard_users,
});

/** Newest first, at most `limit`. */
export async function listMerchants(sql: Queryable, limit: number): Promise<MerchantSummary[]> {
  const rows = await sql<SummaryRow[]>`
    select m.merchant_id, m.name, m.email, m.created_at, m.disabled_at, m.disabled_reason,
      (select count(*)::int from identity.clients c where c.merchant_id = m.merchant_id and c.disabled_at is null)
        as active_clients,
      (select count(*)::int from identity.dashboard_users u where u.merchant_id = m.merchant_id) as dashboard_users
    from identity.merchants m
    order by m.created_at desc, m.merchant_id desc
    limit ${limit}`;
  return rows.map(toSummary);
}

export async function findMerchantSummary(
  sql: Queryable,
  merchantId: string,
): Promise<MerchantSummary | undefined> {
  const [row] = await sql<SummaryRow[]>`
    select m.merchant_id, m.name, m.email, m.created_at, m.disabled_at, m.disabled_reason,
      (select count(*)::int from identity.clients c where c.merchant_id = m.merchant_id and c.disabled_at is null)
        as active_clients,
      (select count(*)::int from identity.dashboard_users u where u.merchant_id = m.merchant_id) as dashboard_users
    from identity.merchants m where m.merchant_id = ${merchantId}`;
  return row ? toSummary(row) : undefined;
}

/** Locks the merchant row; undefined when there is none. */
export async function lockMerchant(
  transaction: TransactionSql,
  merchantId: string,
): Promise<{ disabled: boolean } | undefined> {
  const [row] = await transaction<{ disabled: boolean }[]>`
    select disabled_at is not null as disabled from identity.merchants
    where merchant_id = ${merchantId} for update`;
  return row;
}

/** The ids of the merchant's enabled clients (secret and publishable). */
export async function activeClientIdsOf(transaction: TransactionSql, merchantId: string): Promise<string[]> {
  const rows = await transaction<{ client_id: string }[]>`
    select client_id from identity.clients
    where merchant_id = ${merchantId} and disabled_at is null order by client_id`;
  return rows.map((row) => row.client_id);
}

/** Marks the merchant disabled and ends its dashboard users' sessions. */
export async function markMerchantDisabled(
  transaction: TransactionSql,
  merchantId: string,
  reason: string | undefined,
  at: Date,
): Promise<void> {
  await transaction`
    update identity.merchants set disabled_at = ${at}, disabled_reason = ${reason ?? null}
    where merchant_id = ${merchantId}`;
  await transaction`
    update identity.dashboard_sessions s set revoked_at = ${at}
    from identity.dashboard_users u
    where u.user_id = s.user_id and u.merchant_id = ${merchantId} and s.revoked_at is null`;
}
