// Tokenize card or wallet data. Phases: validate (domain, precise codes) → encrypt the number (and,
// separately, the CVC) under fresh data keys bound to the new token id → one transaction storing
// the token, the short-lived CVC record and the audit row. No outside calls.
import { DomainError } from '../../../platform/errors.ts';
import { newId } from '../../../platform/ids.ts';
import { validateCard, type ValidatedCard } from '../domain/card.ts';
import { encryptSecret, type EncryptedSecret } from '../domain/envelope.ts';
import { cardFingerprint } from '../domain/fingerprint.ts';
import { validateWallet, type ValidatedWalletPayment } from '../domain/wallet.ts';
import { readField } from '../domain/validation.ts';
import type { TransactionSql } from '../../../platform/db/client.ts';
import { appendAccessLog, insertCvc, insertToken, type TokenRow } from '../infra/vault-repository.ts';
import { cvcAad, type VaultDependencies } from './dependencies.ts';
import { describeRow, type TokenDescription } from './describe-token.ts';

/** What a caller sends: exactly one of `card` or `wallet`, each read as untrusted input. */
export interface TokenizeInput {
  readonly card?: unknown;
  readonly wallet?: unknown;
}

export interface TokenizeOptions {
  /** Who asked (an API client id), for the audit log. */
  readonly actor?: string;
}

/** The payload sealed in `card_tokens.ciphertext`. */
export type SealedPayload =
  | { readonly kind: 'card'; readonly number: string; readonly holderName?: string }
  | { readonly kind: 'wallet'; readonly networkToken: string; readonly cryptogram: string };

const merchantIdBytesMax = 255;

function invalidRequest(message: string): DomainError {
  return new DomainError('invalid_request', 400, message);
}

function validated(input: unknown, now: Date): ValidatedCard | ValidatedWalletPayment {
  const card = readField(input, 'card');
  const wallet = readField(input, 'wallet');
  if ((card === undefined) === (wallet === undefined)) {
    throw invalidRequest('Send exactly one of card or wallet.');
  }
  const kind = card !== undefined ? 'card' : 'wallet';
  const value = card !== undefined ? card : wallet;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidRequest(`${kind} must be an object.`);
  }
  const result = kind === 'card' ? validateCard(value, now) : validateWallet(value, now);
  if (!result.ok) {
    // Messages are fixed texts from the domain; they never quote the input.
    throw new DomainError(result.code, 422, result.message, { param: `${kind}.${result.field}` });
  }
  return 'card' in result ? result.card : result.wallet;
}

function isCard(value: ValidatedCard | ValidatedWalletPayment): value is ValidatedCard {
  return 'digits' in value;
}

/** A validated request, encrypted and ready to store: nothing in it is clear card data. */
export interface SealedTokenization {
  readonly row: Omit<TokenRow, 'createdAt'>;
  readonly secret: EncryptedSecret;
  readonly cvcSecret: EncryptedSecret | undefined;
  readonly now: Date;
  readonly expiresAt: Date;
}

/** Validates (DomainError 400/422 on bad input) and encrypts under fresh data keys; no database. */
export function sealTokenization(
  dependencies: VaultDependencies,
  merchantId: string,
  input: TokenizeInput,
): SealedTokenization {
  if (
    typeof merchantId !== 'string' ||
    merchantId === '' ||
    Buffer.byteLength(merchantId) > merchantIdBytesMax
  ) {
    throw new TypeError('merchantId must be a non-empty string of at most 255 bytes');
  }
  const now = dependencies.clock.now();
  const data = validated(input, now);
  const tokenId = newId('tok', now.getTime());
  const keyring = dependencies.keyrings.current();
  const payload: SealedPayload = isCard(data)
    ? {
        kind: 'card',
        number: data.digits.reveal(),
        ...(data.holderName ? { holderName: data.holderName } : {}),
      }
    : { kind: 'wallet', networkToken: data.networkToken.reveal(), cryptogram: data.cryptogram.reveal() };
  const plaintext = Buffer.from(JSON.stringify(payload), 'utf8');
  const secret = encryptSecret(plaintext, tokenId, keyring);
  plaintext.fill(0);
  let cvcSecret: EncryptedSecret | undefined;
  if (isCard(data)) {
    const cvc = Buffer.from(data.cvc.reveal(), 'ascii');
    cvcSecret = encryptSecret(cvc, cvcAad(tokenId), keyring);
    cvc.fill(0);
  }
  const row = isCard(data)
    ? {
        tokenId,
        merchantId,
        kind: 'card' as const,
        walletType: null,
        brand: data.brand,
        bin: data.bin,
        last4: data.last4,
        expMonth: data.expMonth,
        expYear: data.expYear,
        fingerprint: cardFingerprint(data.digits.reveal(), merchantId, dependencies.fingerprintKey.reveal()),
      }
    : {
        tokenId,
        merchantId,
        kind: 'wallet' as const,
        walletType: data.type,
        brand: data.brand,
        bin: null,
        last4: data.last4,
        expMonth: data.expMonth,
        expYear: data.expYear,
        fingerprint: null,
      };
  const expiresAt = new Date(now.getTime() + dependencies.cvcTtlSeconds * 1000);
  return { row, secret, cvcSecret, now, expiresAt };
}

/** Stores the token, its CVC record and the audit row in the caller's transaction. */
export async function storeTokenization(
  transaction: TransactionSql,
  sealed: SealedTokenization,
  options: TokenizeOptions,
): Promise<TokenDescription> {
  const { row, secret, cvcSecret, now, expiresAt } = sealed;
  await insertToken(transaction, { ...row, secret, createdAt: now });
  if (cvcSecret) await insertCvc(transaction, row.tokenId, cvcSecret, now, expiresAt);
  await appendAccessLog(transaction, {
    occurredAt: now,
    actor: options.actor ?? 'unknown',
    action: 'tokenize',
    merchantId: row.merchantId,
    tokenId: row.tokenId,
    purpose: null,
    outcome: 'ok',
    cvcReleased: false,
    detail: null,
  });
  return describeRow({ ...row, createdAt: now });
}

/** Validates, encrypts and stores; returns the public description. Throws DomainError on bad input. */
export async function tokenize(
  dependencies: VaultDependencies,
  merchantId: string,
  input: TokenizeInput,
  options: TokenizeOptions = {},
): Promise<TokenDescription> {
  const sealed = sealTokenization(dependencies, merchantId, input);
  return dependencies.sql.begin((transaction) => storeTokenization(transaction, sealed, options));
}
