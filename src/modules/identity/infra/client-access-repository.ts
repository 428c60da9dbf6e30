// SQL for disabling, enabling and rotating a client, its audit trail (identity.client_access_changes)
// and the revocation list every verifying process caches. A change runs in one transaction that holds
// a self-conflicting lock on the audit table, so change ids become visible in commit order, and
// notifies `clientAccessChannel` at commit.
import type { Queryable, Sql, TransactionSql } from '../../../platform/db/client.ts';
import type { PrincipalRole } from '../../../platform/http/auth.ts';

export const clientAccessChannel = 'payflow_identity_client_access';

export type ClientAccessAction = 'disabled' | 'enabled' | 'secret_rotated';

export interface ClientAccessChange {
  readonly clientId: string;
  readonly action: ClientAccessAction;
  /** Who asked: `cli:<os user>` or `client:<admin client id>`. */
  readonly actor: string;
  readonly reason: string | undefined;
  /** For `secret_rotated`: the new secret's hash. */
  readonly secretHash?: string;
}

export interface ClientAccessState {
  readonly clientId: string;
  readonly role: PrincipalRole;
  readonly merchantId: string | undefined;
  readonly description: string | undefined;
  readonly createdAt: Date;
  readonly secretRotatedAt: Date | undefined;
  readonly disabledAt: Date | undefined;
  readonly disabledReason: string | undefined;
  readonly tokenGeneration: number;
}

interface StateRow {
  client_id: string;
  role: PrincipalRole;
  merchant_id: string | null;
  description: string | null;
  created_at: Date;
  secret_rotated_at: Date | null;
  disabled_at: Date | null;
  disabled_reason: string | null;
  token_generation: number;
}

function toState(row: StateRow): ClientAccessState {
  return {
    clientId: row.client_id,
    role: row.role,
    merchantId: row.merchant_id ?? undefined,
    description: row.description ?? undefined,
    createdAt: row.created_at,
    secretRotatedAt: row.secret_rotated_at ?? undefined,
    disabledAt: row.disabled_at ?? undefined,
    disabledReason: row.disabled_reason ?? undefined,
    tokenGeneration: row.token_generation,
  };
}

/** Locks the audit table and the client row; undefined when there is no such client. */
export async function lockClientForChange(
  transaction: TransactionSql,
  clientId: string,
): Promise<ClientAccessState | undefined> {
  await transaction`lock table identity.client_access_changes in share row exclusive mode`;
  const [row] = await transaction<StateRow[]>`
    select client_id, role, merchant_id, description, created_at, secret_rotated_at, disabled_at,
           disabled_reason, token_generation
    from identity.clients where client_id = ${clientId} for update`;
  return row ? toState(row) : undefined;
}

/**
 * Applies a change to a client locked by lockClientForChange: bumps its token generation (every
 * token issued before is refused from now on), records who/when/why and notifies the verifiers.
 */
export async function applyClientAccessChange(
  transaction: TransactionSql,
  change: ClientAccessChange,
  at: Date,
): Promise<ClientAccessState> {
  const disabling = change.action === 'disabled';
  const enabling = change.action === 'enabled';
  const [row] = await transaction<StateRow[]>`
    update identity.clients set
      token_generation = token_generation + 1,
      disabled_at = case when ${disabling} then ${at}::timestamptz when ${enabling} then null else disabled_at end,
      disabled_reason = case when ${disabling} then ${change.reason ?? null}::text when ${enabling} then null
                             else disabled_reason end,
      secret_hash = coalesce(${change.secretHash ?? null}::text, secret_hash),
      secret_rotated_at = case when ${change.secretHash !== undefined} then ${at}::timestamptz
                               else secret_rotated_at end
    where client_id = ${change.clientId}
    returning client_id, role, merchant_id, description, created_at, secret_rotated_at, disabled_at,
              disabled_reason, token_generation`;
  if (!row) throw new Error(`client ${change.clientId} vanished while locked`);
  await transaction`
    insert into identity.client_access_changes (client_id, action, actor, reason, token_generation, occurred_at)
    values (${change.clientId}, ${change.action}, ${change.actor}, ${change.reason ?? null},
            ${row.token_generation}, ${at})`;
  await transaction`select pg_notify(${clientAccessChannel}, ${change.clientId})`;
  return toState(row);
}

export async function listClients(
  sql: Queryable,
  filter: { merchantId?: string | undefined },
): Promise<ClientAccessState[]> {
  const rows = await sql<StateRow[]>`
    select client_id, role, merchant_id, description, created_at, secret_rotated_at, disabled_at,
           disabled_reason, token_generation
    from identity.clients
    where ${filter.merchantId ?? null}::text is null or merchant_id = ${filter.merchantId ?? null}
    order by created_at, client_id`;
  return rows.map(toState);
}

export interface ClientAccessRecord {
  readonly changeId: bigint;
  readonly action: ClientAccessAction;
  readonly actor: string;
  readonly reason: string | undefined;
  readonly tokenGeneration: number;
  readonly occurredAt: Date;
}

/** The client's access changes, oldest first. */
export async function listClientAccessChanges(
  sql: Queryable,
  clientId: string,
): Promise<ClientAccessRecord[]> {
  const rows = await sql<
    {
      change_id: bigint;
      action: ClientAccessAction;
      actor: string;
      reason: string | null;
      token_generation: number;
      occurred_at: Date;
    }[]
  >`
    select change_id, action, actor, reason, token_generation, occurred_at
    from identity.client_access_changes where client_id = ${clientId} order by change_id`;
  return rows.map((row) => ({
    changeId: row.change_id,
    action: row.action,
    actor: row.actor,
    reason: row.reason ?? undefined,
    tokenGeneration: row.token_generation,
    occurredAt: row.occurred_at,
  }));
}

/** The newest change id (0 before any change): what a verifier compares to know it is current. */
export async function latestClientAccessChangeId(sql: Sql): Promise<bigint> {
  const [row] = await sql<{ change_id: bigint }[]>`
    select coalesce(max(change_id), 0)::int8 as change_id from identity.client_access_changes`;
  return row?.change_id ?? 0n;
}

/** Clients with revoked tokens: generation above 1 (every disabled client is among them). */
export async function findRevokedGenerations(
  sql: Sql,
): Promise<{ clientId: string; tokenGeneration: number; disabled: boolean }[]> {
  const rows = await sql<{ client_id: string; token_generation: number; disabled: boolean }[]>`
    select client_id, token_generation, disabled_at is not null as disabled
    from identity.clients where token_generation > 1`;
  return rows.map((row) => ({
    clientId: row.client_id,
    tokenGeneration: row.token_generation,
    disabled: row.disabled,
  }));
}
