// Describe a token: the public description only (brand, BIN, last 4, expiry, fingerprint), scoped
// to the merchant that created it. One read, no decryption.
import type { Queryable } from '../../../platform/db/client.ts';
import { findToken, type TokenRow } from '../infra/vault-repository.ts';

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
