// SQL for the vault schema. Only ciphertext, wrapped keys and the public description (brand, BIN,
// last 4, expiry, keyed fingerprint) ever reach these tables: no clear number is a query parameter.
import type { Queryable, TransactionSql } from '../../../platform/db/client.ts';
import type { EncryptedSecret } from '../domain/envelope.ts';

export type TokenKind = 'card' | 'wallet';

export interface TokenRow {
  readonly tokenId: string;
  readonly merchantId: string;
  readonly kind: TokenKind;
  readonly walletType: string | null;
  readonly brand: string;
  readonly bin: string | null;
  readonly last4: string;
  readonly expMonth: number;
  readonly expYear: number;
  readonly fingerprint: string | null;
  readonly createdAt: Date;
}

export interface StoredSecret extends EncryptedSecret {
  readonly tokenId: string;
}

interface TokenRecord {
  token_id: string;
  merchant_id: string;
  kind: TokenKind;
  wallet_type: string | null;
  brand: string;
  bin: string | null;
  last4: string;
  exp_month: number;
  exp_year: number;
  fingerprint: string | null;
  created_at: Date;
  key_version: number;
  wrapped_key: Buffer;
  ciphertext: Buffer;
}

function toTokenRow(record: TokenRecord): TokenRow {
  return {
    tokenId: record.token_id,
    merchantId: record.merchant_id,
    kind: record.kind,
    walletType: record.wallet_type,
    brand: record.brand,
    bin: record.bin,
    last4: record.last4,
    expMonth: record.exp_month,
    expYear: record.exp_year,
    fingerprint: record.fingerprint,
    createdAt: record.created_at,
  };
}

export async function insertToken(
  sql: Queryable,
  row: Omit<TokenRow, 'createdAt'> & { readonly secret: EncryptedSecret; readonly createdAt: Date },
): Promise<void> {
  await sql`
    insert into vault.card_tokens
      (token_id, merchant_id, kind, wallet_type, brand, bin, last4, exp_month, exp_year, fingerprint,
       key_version, wrapped_key, ciphertext, created_at)
    values
      (${row.tokenId}, ${row.merchantId}, ${row.kind}, ${row.walletType}, ${row.brand}, ${row.bin},
       ${row.last4}, ${row.expMonth}, ${row.expYear}, ${row.fingerprint}, ${row.secret.keyVersion},
       ${row.secret.wrappedKey}, ${row.secret.ciphertext}, ${row.createdAt})`;
}

export async function insertCvc(
  sql: Queryable,
  tokenId: string,
  secret: EncryptedSecret,
  createdAt: Date,
  expiresAt: Date,
): Promise<void> {
  await sql`
    insert into vault.cvc_records (token_id, key_version, wrapped_key, ciphertext, created_at, expires_at)
    values (${tokenId}, ${secret.keyVersion}, ${secret.wrappedKey}, ${secret.ciphertext}, ${createdAt},
            ${expiresAt})`;
}

/** The public description of a token, scoped to its merchant. */
export async function findToken(
  sql: Queryable,
  merchantId: string,
  tokenId: string,
): Promise<TokenRow | undefined> {
  const [record] = await sql<TokenRecord[]>`
    select token_id, merchant_id, kind, wallet_type, brand, bin, last4, exp_month, exp_year, fingerprint,
           created_at, key_version, wrapped_key, ciphertext
    from vault.card_tokens where token_id = ${tokenId} and merchant_id = ${merchantId}`;
  return record ? toTokenRow(record) : undefined;
}

/** Public descriptions of several tokens of one merchant; unknown ids are left out. */
export async function findTokens(
  sql: Queryable,
  merchantId: string,
  tokenIds: readonly string[],
): Promise<TokenRow[]> {
  const records = await sql<TokenRecord[]>`
    select token_id, merchant_id, kind, wallet_type, brand, bin, last4, exp_month, exp_year, fingerprint,
           created_at, key_version, wrapped_key, ciphertext
    from vault.card_tokens where merchant_id = ${merchantId} and token_id = any(${tokenIds as string[]})`;
  return records.map(toTokenRow);
}

/** The merchant's token ids ending in `last4`, at most `limit` (index card_tokens_merchant_last4). */
export async function findTokenIdsByLast4(
  sql: Queryable,
  merchantId: string,
  last4: string,
  limit: number,
): Promise<string[]> {
  const rows = await sql<{ token_id: string }[]>`
    select token_id from vault.card_tokens where merchant_id = ${merchantId} and last4 = ${last4}
    limit ${limit}`;
  return rows.map((row) => row.token_id);
}

export interface TokenWithSecret extends TokenRow {
  readonly secret: EncryptedSecret;
  /** The CVC record, deleted by this statement (asked for and present only). */
  readonly cvc?: EncryptedSecret & { readonly expiresAt: Date };
}

/** Who reads a token for release, for the audit row the reading statement writes. */
export interface ReleaseAudit {
  readonly occurredAt: Date;
  readonly actor: string;
  readonly purpose: 'authorization' | 'capture' | 'refund' | 'void';
}

/**
 * The token with its encrypted payload, scoped to its merchant, and (when `takeCvc`) its CVC record
 * deleted and returned, and the audit row, all in one statement (one commit): at most one caller
 * ever receives a CVC, and the row is written before anything leaves the vault (log before release):
 * 'released' (with `cvc_released` when a live CVC was taken) or 'not_found'.
 */
export async function takeTokenForRelease(
  sql: Queryable,
  merchantId: string,
  tokenId: string,
  takeCvc: boolean,
  audit: ReleaseAudit,
): Promise<TokenWithSecret | undefined> {
  const [record] = await sql<
    (TokenRecord & {
      cvc_key_version: number | null;
      cvc_wrapped_key: Buffer | null;
      cvc_ciphertext: Buffer | null;
      cvc_expires_at: Date | null;
    })[]
  >`
    with token as (
      select token_id, merchant_id, kind, wallet_type, brand, bin, last4, exp_month, exp_year, fingerprint,
             created_at, key_version, wrapped_key, ciphertext
      from vault.card_tokens where token_id = ${tokenId} and merchant_id = ${merchantId}
    ), cvc as (
      delete from vault.cvc_records where ${takeCvc} and token_id = (select token_id from token)
      returning key_version, wrapped_key, ciphertext, expires_at
    ), audited as (
      insert into vault.access_log
        (occurred_at, actor, action, merchant_id, token_id, purpose, outcome, cvc_released)
      select ${audit.occurredAt}, ${audit.actor.slice(0, 255) || 'unknown'}, 'detokenize', ${merchantId},
             ${tokenId}, ${audit.purpose},
             case when exists (select 1 from token) then 'released' else 'not_found' end,
             exists (select 1 from cvc where expires_at > ${audit.occurredAt})
    )
    select token.*, cvc.key_version as cvc_key_version, cvc.wrapped_key as cvc_wrapped_key,
           cvc.ciphertext as cvc_ciphertext, cvc.expires_at as cvc_expires_at
    from token left join cvc on true`;
  return record && withSecrets(record);
}

function withSecrets(
  record: TokenRecord & {
    cvc_key_version: number | null;
    cvc_wrapped_key: Buffer | null;
    cvc_ciphertext: Buffer | null;
    cvc_expires_at: Date | null;
  },
): TokenWithSecret {
  return {
    ...toTokenRow(record),
    secret: { keyVersion: record.key_version, wrappedKey: record.wrapped_key, ciphertext: record.ciphertext },
    ...(record.cvc_key_version !== null && {
      cvc: {
        keyVersion: record.cvc_key_version,
        wrappedKey: record.cvc_wrapped_key!,
        ciphertext: record.cvc_ciphertext!,
        expiresAt: record.cvc_expires_at!,
      },
    }),
  };
}

/** One caller's release request (a row of takeTokensForRelease). */
export interface ReleaseRequest {
  readonly merchantId: string;
  readonly tokenId: string;
  readonly takeCvc: boolean;
  readonly audit: ReleaseAudit;
}

/**
 * takeTokenForRelease for many callers in one statement (batching across requests, ADR 18): each
 * request's token scoped to its merchant, its audit row (in the requests' order), and the CVC. A token
 * asked for with its CVC by several requests of the batch gives it to exactly one: the first of them
 * that found the token; the others are released without it, as a later statement would be.
 */
export async function takeTokensForRelease(
  sql: Queryable,
  requests: readonly ReleaseRequest[],
): Promise<(TokenWithSecret | undefined)[]> {
  const input = requests.map((request, index) => ({
    ord: index,
    merchant_id: request.merchantId,
    token_id: request.tokenId,
    take_cvc: request.takeCvc,
    occurred_at: request.audit.occurredAt.toISOString(),
    actor: request.audit.actor.slice(0, 255) || 'unknown',
    purpose: request.audit.purpose,
  }));
  const records = await sql<
    (TokenRecord & {
      ord: number;
      cvc_key_version: number | null;
      cvc_wrapped_key: Buffer | null;
      cvc_ciphertext: Buffer | null;
      cvc_expires_at: Date | null;
    })[]
  >`
    with input as (
      select * from jsonb_to_recordset(${sql.json(input as never)}::jsonb) as request (
        ord integer, merchant_id text, token_id text, take_cvc boolean, occurred_at timestamptz,
        actor text, purpose text)
    ), token as (
      select input.ord, card.token_id, card.merchant_id, card.kind, card.wallet_type, card.brand, card.bin,
             card.last4, card.exp_month, card.exp_year, card.fingerprint, card.created_at, card.key_version,
             card.wrapped_key, card.ciphertext
      from input join vault.card_tokens card
        on card.token_id = input.token_id and card.merchant_id = input.merchant_id
    ), taker as (
      select min(token.ord) as ord, token.token_id
      from token join input on input.ord = token.ord
      where input.take_cvc
      group by token.token_id
    ), cvc as (
      delete from vault.cvc_records record using taker
      where record.token_id = taker.token_id
      returning taker.ord, record.key_version, record.wrapped_key, record.ciphertext, record.expires_at
    ), audited as (
      insert into vault.access_log
        (occurred_at, actor, action, merchant_id, token_id, purpose, outcome, cvc_released)
      select input.occurred_at, input.actor, 'detokenize', input.merchant_id, input.token_id, input.purpose,
             case when exists (select 1 from token where token.ord = input.ord) then 'released'
                  else 'not_found' end,
             exists (select 1 from cvc where cvc.ord = input.ord and cvc.expires_at > input.occurred_at)
      from input order by input.ord
    )
    select token.*, cvc.key_version as cvc_key_version, cvc.wrapped_key as cvc_wrapped_key,
           cvc.ciphertext as cvc_ciphertext, cvc.expires_at as cvc_expires_at
    from token left join cvc on cvc.ord = token.ord`;
  const byOrd = new Map(records.map((record) => [record.ord, record]));
  return requests.map((_request, index) => {
    const record = byOrd.get(index);
    return record && withSecrets(record);
  });
}

/** Deletes up to `limit` CVC records whose time to live has passed; returns how many. */
export async function deleteExpiredCvcs(sql: Queryable, now: Date, limit: number): Promise<number> {
  const deleted = await sql`
    delete from vault.cvc_records where token_id in (
      select token_id from vault.cvc_records where expires_at <= ${now} limit ${limit}
      for update skip locked)`;
  return deleted.count;
}

export interface AccessLogEntry {
  readonly occurredAt: Date;
  readonly actor: string;
  readonly action: 'tokenize' | 'detokenize' | 'rotate_key';
  readonly merchantId: string | null;
  readonly tokenId: string | null;
  readonly purpose: 'authorization' | 'capture' | 'refund' | 'void' | null;
  readonly outcome: 'ok' | 'not_found' | 'failed' | 'released';
  readonly cvcReleased: boolean;
  readonly detail: string | null;
}

export async function appendAccessLog(sql: Queryable, entry: AccessLogEntry): Promise<void> {
  await sql`
    insert into vault.access_log
      (occurred_at, actor, action, merchant_id, token_id, purpose, outcome, cvc_released, detail)
    values
      (${entry.occurredAt}, ${entry.actor.slice(0, 255) || 'unknown'}, ${entry.action}, ${entry.merchantId},
       ${entry.tokenId}, ${entry.purpose}, ${entry.outcome}, ${entry.cvcReleased}, ${entry.detail})`;
}

export type RewrapTable = 'card_tokens' | 'cvc_records' | 'fingerprint_key';

const keyColumns: Record<RewrapTable, string> = {
  card_tokens: 'token_id',
  cvc_records: 'token_id',
  fingerprint_key: 'singleton',
};

/** Locks up to `limit` records not under `activeVersion`, skipping rows other transactions hold. */
export async function lockStaleRecords(
  transaction: TransactionSql,
  table: RewrapTable,
  activeVersion: number,
  limit: number,
): Promise<{ readonly id: string; readonly secret: EncryptedSecret }[]> {
  const key = keyColumns[table];
  const rows = await transaction<
    { id: string; key_version: number; wrapped_key: Buffer; ciphertext: Buffer }[]
  >`
    select ${transaction(key)}::text as id, key_version, wrapped_key, ciphertext
    from ${transaction('vault.' + table)}
    where key_version <> ${activeVersion}
    order by ${transaction(key)}
    limit ${limit}
    for update skip locked`;
  return rows.map((row) => ({
    id: row.id,
    secret: { keyVersion: row.key_version, wrappedKey: row.wrapped_key, ciphertext: row.ciphertext },
  }));
}

export async function storeRewrapped(
  transaction: TransactionSql,
  table: RewrapTable,
  id: string,
  secret: EncryptedSecret,
  now: Date,
): Promise<void> {
  const key = keyColumns[table];
  await transaction`
    update ${transaction('vault.' + table)}
    set key_version = ${secret.keyVersion}, wrapped_key = ${secret.wrappedKey}, rewrapped_at = ${now}
    where ${transaction(key)}::text = ${id}`;
}

export async function countStaleRecords(
  sql: Queryable,
  table: RewrapTable,
  activeVersion: number,
): Promise<number> {
  const [row] = await sql<{ count: bigint }[]>`
    select count(*)::int8 as count from ${sql('vault.' + table)} where key_version <> ${activeVersion}`;
  return Number(row?.count ?? 0n);
}

export async function countRecords(sql: Queryable, table: RewrapTable): Promise<number> {
  const [row] = await sql<{ count: bigint }[]>`select count(*)::int8 as count from ${sql('vault.' + table)}`;
  return Number(row?.count ?? 0n);
}

export async function readFingerprintKeyRecord(sql: Queryable): Promise<EncryptedSecret | undefined> {
  const [row] = await sql<{ key_version: number; wrapped_key: Buffer; ciphertext: Buffer }[]>`
    select key_version, wrapped_key, ciphertext from vault.fingerprint_key where singleton`;
  return row
    ? { keyVersion: row.key_version, wrappedKey: row.wrapped_key, ciphertext: row.ciphertext }
    : undefined;
}

/** Stores the fingerprint key unless another process stored one first. */
export async function insertFingerprintKeyRecord(sql: Queryable, secret: EncryptedSecret): Promise<void> {
  await sql`
    insert into vault.fingerprint_key (key_version, wrapped_key, ciphertext)
    values (${secret.keyVersion}, ${secret.wrappedKey}, ${secret.ciphertext})
    on conflict (singleton) do nothing`;
}
