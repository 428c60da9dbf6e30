// Describe a token: the public description only (brand, BIN, last 4, expiry, fingerprint), scoped
// to the merchant that created it. One read, no decryption.
import type { Queryable } from '../../../platform/db/client.ts';
import { findTokenIdsByLast4, findToken, findTokens, type TokenRow } from '../infra/vault-repository.ts';

export interface CardDescription {
  readonly brand: string;
  readonly bin: string;
  readonly last4: string;
  readonly expMonth: number;
  readonly expYear: number;
  readonly fingerprint: string;
}

export interface WalletDescription {
  readonly type: string;
  readonly brand: string;
  readonly last4: string;
  readonly expMonth: number;
  readonly expYear: number;
}

export type TokenDescription =
  | { readonly token: string; readonly card: CardDescription; readonly wallet?: never }
  | { readonly token: string; readonly wallet: WalletDescription; readonly card?: never };

export function describeRow(row: TokenRow): TokenDescription {
  if (row.kind === 'card') {
    return {
      token: row.tokenId,
      card: {
        brand: row.brand,
        bin: row.bin ?? '',
        last4: row.last4,
        expMonth: row.expMonth,
        expYear: row.expYear,
        fingerprint: row.fingerprint ?? '',
      },
    };
  }
  return {
    token: row.tokenId,
    wallet: {
      type: row.walletType ?? '',
      brand: row.brand,
      last4: row.last4,
      expMonth: row.expMonth,
      expYear: row.expYear,
    },
  };
}

const tokenIdLengthMax = 64;

export async function describeToken(
  sql: Queryable,
  merchantId: string,
  token: string,
): Promise<TokenDescription | undefined> {
  if (typeof token !== 'string' || token.length > tokenIdLengthMax) return undefined;
  const row = await findToken(sql, merchantId, token);
  return row ? describeRow(row) : undefined;
}

/**
 * The descriptions this process has read or made, so that a token used again (a returning payer, a
 * capture after an authorization) is described without a database read. Safe because a token's
 * public columns never change: nothing updates or deletes them (a key rotation re-seals the
 * encrypted payload only). Scoped by merchant like the read; bounded, the least recently used out
 * first. Card data never enters it (descriptions hold brand, BIN, last 4, expiry, fingerprint).
 */
export interface DescriptionCache {
  get(merchantId: string, token: string): TokenDescription | undefined;
  put(merchantId: string, description: TokenDescription): void;
}

export function createDescriptionCache(entriesMax = 10_000): DescriptionCache {
  const entries = new Map<string, TokenDescription>();
  const keyOf = (merchantId: string, token: string) => `${merchantId}\u0000${token}`;
  return {
    get(merchantId, token) {
      const key = keyOf(merchantId, token);
      const found = entries.get(key);
      if (found !== undefined) {
        entries.delete(key); // most recently used last
        entries.set(key, found);
      }
      return found;
    },
    put(merchantId, description) {
      entries.set(keyOf(merchantId, description.token), description);
      if (entries.size > entriesMax) entries.delete(entries.keys().next().value!);
    },
  };
}

/** describeToken through the process's cache (a miss reads the database and fills it). */
export async function describeTokenCached(
  sql: Queryable,
  cache: DescriptionCache,
  merchantId: string,
  token: string,
): Promise<TokenDescription | undefined> {
  const cached = cache.get(merchantId, token);
  if (cached !== undefined) return cached;
  const found = await describeToken(sql, merchantId, token);
  if (found !== undefined) cache.put(merchantId, found);
  return found;
}

/** describeTokens takes at most this many tokens per call (a page of a list or an export). */
export const describeTokensMax = 500;
/** tokensEndingIn finds at most this many tokens; more means the search is too broad to answer. */
export const tokensEndingInMax = 1_000;

/** The descriptions of a page of tokens at once (lists and exports); unknown ids are left out. */
export async function describeTokens(
  sql: Queryable,
  merchantId: string,
  tokens: readonly string[],
): Promise<TokenDescription[]> {
  if (tokens.length > describeTokensMax)
    throw new Error(`describeTokens takes at most ${describeTokensMax} tokens (got ${tokens.length})`);
  const wanted = tokens.filter((token) => typeof token === 'string' && token.length <= tokenIdLengthMax);
  if (wanted.length === 0) return [];
  return (await findTokens(sql, merchantId, wanted)).map(describeRow);
}

export interface TokensEndingIn {
  readonly tokens: readonly string[];
  /** More than tokensEndingInMax tokens end in these digits: `tokens` is not all of them. */
  readonly truncated: boolean;
}

/** The merchant's card and wallet tokens whose last 4 digits are `last4` (for payment search). */
export async function tokensEndingIn(
  sql: Queryable,
  merchantId: string,
  last4: string,
): Promise<TokensEndingIn> {
  if (!/^[0-9]{4}$/.test(last4)) return { tokens: [], truncated: false };
  const found = await findTokenIdsByLast4(sql, merchantId, last4, tokensEndingInMax + 1);
  return { tokens: found.slice(0, tokensEndingInMax), truncated: found.length > tokensEndingInMax };
}
