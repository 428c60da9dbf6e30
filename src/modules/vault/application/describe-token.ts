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
