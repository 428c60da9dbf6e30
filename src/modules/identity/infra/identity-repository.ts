// SQL for the identity schema: merchants, clients and signing keys. Accepts the pool or a transaction.
import type { Queryable } from '../../../platform/db/client.ts';
import type { PrincipalRole } from '../../../platform/http/auth.ts';
import type { SealBinding, SecretSealer } from '../../../platform/secrets.ts';

export interface ClientRecord {
  readonly clientId: string;
  readonly role: PrincipalRole;
  readonly merchantId: string | undefined;
  readonly secretHash: string | undefined;
  readonly scopes: readonly string[];
  readonly disabled: boolean;
  /** Goes into each token; tokens of a lower generation than the client's are refused. */
  readonly tokenGeneration: number;
}

export interface NewClient {
  readonly clientId: string;
  readonly role: PrincipalRole;
  readonly merchantId: string | undefined;
  readonly secretHash: string | undefined;
  readonly scopes: readonly string[];
  readonly description?: string | undefined;
}

export type SigningKeyStatus = 'active' | 'retiring' | 'retired';
export type SigningAlgorithm = 'ES256' | 'EdDSA';

export interface SigningKeyRecord {
  readonly kid: string;
  readonly algorithm: SigningAlgorithm;
  readonly publicJwk: Record<string, unknown>;
  readonly status: SigningKeyStatus;
  readonly createdAt: Date;
  readonly notAfter: Date | undefined;
}

interface ClientRow {
  client_id: string;
  role: PrincipalRole;
  merchant_id: string | null;
  secret_hash: string | null;
  scopes: string[];
  disabled_at: Date | null;
  token_generation: number;
}

interface KeyRow {
  kid: string;
  algorithm: SigningAlgorithm;
  public_jwk: Record<string, unknown>;
  status: SigningKeyStatus;
  created_at: Date;
  not_after: Date | null;
}

function toKey(row: KeyRow): SigningKeyRecord {
  return {
    kid: row.kid,
    algorithm: row.algorithm,
    publicJwk: row.public_jwk,
    status: row.status,
    createdAt: row.created_at,
    notAfter: row.not_after ?? undefined,
  };
}

export async function insertMerchant(
  sql: Queryable,
  merchant: { merchantId: string; name: string; email: string | undefined },
  at: Date,
): Promise<void> {
  await sql`
    insert into identity.merchants (merchant_id, name, email, created_at)
    values (${merchant.merchantId}, ${merchant.name}, ${merchant.email ?? null}, ${at})`;
}

/** The merchant's name and contact email (undefined: no such merchant). */
export async function findMerchantContact(
  sql: Queryable,
  merchantId: string,
): Promise<{ name: string; email: string | undefined } | undefined> {
  const [row] = await sql<{ name: string; email: string | null }[]>`
    select name, email from identity.merchants where merchant_id = ${merchantId}`;
  return row ? { name: row.name, email: row.email ?? undefined } : undefined;
}

/** The merchant's publishable key (its oldest enabled one), for pages that tokenize in the browser. */
export async function findPublishableKey(sql: Queryable, merchantId: string): Promise<string | undefined> {
  const [row] = await sql<{ client_id: string }[]>`
    select client_id from identity.clients
    where merchant_id = ${merchantId} and role = 'publishable' and disabled_at is null
    order by created_at, client_id limit 1`;
  return row?.client_id;
}

export async function merchantExists(sql: Queryable, merchantId: string): Promise<boolean> {
  const rows = await sql`select 1 from identity.merchants where merchant_id = ${merchantId}`;
  return rows.length === 1;
}

export async function insertClient(sql: Queryable, client: NewClient, at: Date): Promise<void> {
  await sql`
    insert into identity.clients (client_id, role, merchant_id, secret_hash, scopes, description, created_at)
    values (${client.clientId}, ${client.role}, ${client.merchantId ?? null}, ${client.secretHash ?? null},
            ${sql.array([...client.scopes])}, ${client.description ?? null}, ${at})`;
}

export async function findClient(sql: Queryable, clientId: string): Promise<ClientRecord | undefined> {
  const [row] = await sql<ClientRow[]>`
    select client_id, role, merchant_id, secret_hash, scopes, disabled_at, token_generation
    from identity.clients where client_id = ${clientId}`;
  if (!row) return undefined;
  return {
    clientId: row.client_id,
    role: row.role,
    merchantId: row.merchant_id ?? undefined,
    secretHash: row.secret_hash ?? undefined,
    scopes: row.scopes,
    disabled: row.disabled_at !== null,
    tokenGeneration: row.token_generation,
  };
}

/** Where a signing key's sealed private JWK belongs: it opens only in this row and column. */
export function privateJwkBinding(kid: string): SealBinding {
  return { table: 'identity.signing_keys', id: kid, column: 'private_jwk_sealed' };
}

/** Inserts a new active key, its private JWK sealed (never written in clear; ADR 16). */
export async function insertSigningKey(
  sql: Queryable,
  sealer: SecretSealer,
  key: {
    kid: string;
    algorithm: SigningAlgorithm;
    publicJwk: Record<string, unknown>;
    privateJwk: Record<string, unknown>;
  },
  at: Date,
): Promise<boolean> {
  const sealed = sealer.seal(JSON.stringify(key.privateJwk), privateJwkBinding(key.kid));
  const rows = await sql`
    insert into identity.signing_keys (kid, algorithm, public_jwk, private_jwk_sealed, status, created_at)
    values (${key.kid}, ${key.algorithm}, ${sql.json(key.publicJwk as never)}, ${sealed}, 'active', ${at})
    on conflict (status) where status = 'active' do nothing`;
  return rows.count === 1;
}

/** Moves the active key to retiring; it keeps verifying until `notAfter`. Returns its kid. */
export async function retireActiveKey(sql: Queryable, at: Date, notAfter: Date): Promise<string | undefined> {
  const [row] = await sql<{ kid: string }[]>`
    update identity.signing_keys set status = 'retiring', retiring_at = ${at}, not_after = ${notAfter}
    where status = 'active' returning kid`;
  return row?.kid;
}

/** Retires every retiring key whose tokens have all expired. Returns the kids retired. */
export async function retireExpiredKeys(sql: Queryable, at: Date): Promise<string[]> {
  const rows = await sql<{ kid: string }[]>`
    update identity.signing_keys set status = 'retired', retired_at = ${at}
    where status = 'retiring' and not_after <= ${at} returning kid`;
  return rows.map((row) => row.kid);
}

/** The active key with its private JWK unsealed (a row an older PayFlow wrote in clear reads as is). */
export async function findActiveSigningKey(
  sql: Queryable,
  sealer: SecretSealer,
): Promise<(SigningKeyRecord & { privateJwk: Record<string, unknown> }) | undefined> {
  const [row] = await sql<
    (KeyRow & { private_jwk: Record<string, unknown> | null; private_jwk_sealed: string | null })[]
  >`
    select kid, algorithm, public_jwk, private_jwk, private_jwk_sealed, status, created_at, not_after
    from identity.signing_keys where status = 'active'`;
  if (!row) return undefined;
  const privateJwk =
    row.private_jwk_sealed === null
      ? row.private_jwk!
      : (JSON.parse(sealer.unseal(row.private_jwk_sealed, privateJwkBinding(row.kid))) as Record<
          string,
          unknown
        >);
  return { ...toKey(row), privateJwk };
}

/** Keys that verify tokens at `at`: the active one and retiring ones still inside their window. */
export async function findVerificationKeys(sql: Queryable, at: Date): Promise<SigningKeyRecord[]> {
  const rows = await sql<KeyRow[]>`
    select kid, algorithm, public_jwk, status, created_at, not_after
    from identity.signing_keys
    where status = 'active' or (status = 'retiring' and not_after > ${at})
    order by created_at desc`;
  return rows.map(toKey);
}

export async function listSigningKeys(sql: Queryable): Promise<SigningKeyRecord[]> {
  const rows = await sql<KeyRow[]>`
    select kid, algorithm, public_jwk, status, created_at, not_after
    from identity.signing_keys order by created_at desc`;
  return rows.map(toKey);
}
