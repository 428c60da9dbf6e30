// POST /tokens with an optional Idempotency-Key. Phases: validate and encrypt (tokenize.ts, no
// database) → one transaction: claim the key in vault.idempotency_keys (platform/idempotency.ts),
// store the token, store its public description as the answer. No outside calls.
// No card data reaches the key table: the request fingerprint is an HMAC under a per-merchant key
// derived from the vault's fingerprint key, over the request WITHOUT the CVC (which is never kept in
// any form, not even keyed), and the stored answer is the token's public description.
import { runIdempotent, requestFingerprint, type IdempotentAnswer } from '../../../platform/idempotency.ts';
import { requestFingerprintKey } from '../domain/fingerprint.ts';
import type { VaultDependencies } from './dependencies.ts';
import { sealTokenization, storeTokenization, type TokenizeInput, type TokenizeOptions } from './tokenize.ts';

export const keyTable = 'vault.idempotency_keys';

export interface IdempotentTokenizeOptions extends TokenizeOptions {
  /** Undefined: no key was sent; the token is created as by tokenize(). */
  readonly idempotencyKey: string | undefined;
}

/** The request as fingerprinted: `card.cvc` left out; the rest as sent (key order does not matter). */
function withoutCvc(input: TokenizeInput): unknown {
  const card = input.card;
  if (typeof card !== 'object' || card === null || Array.isArray(card)) return input;
  const rest = Object.fromEntries(Object.entries(card).filter(([name]) => name !== 'cvc'));
  return { ...input, card: rest };
}

export function tokenizeFingerprint(
  dependencies: VaultDependencies,
  merchantId: string,
  input: TokenizeInput,
): string {
  const key = requestFingerprintKey(dependencies.fingerprintKey.reveal(), merchantId);
  try {
    return requestFingerprint('POST', '/tokens', withoutCvc(input), key);
  } finally {
    key.fill(0);
  }
}

/**
 * Validates first (a refusal stores nothing), then stores the token and the key in one transaction.
 * The same key with the same card answers the first token again (no second token); with another
 * card, 409 idempotency_key_reused. A retry that differs only in the CVC replays the first token.
 */
export async function tokenizeIdempotently(
  dependencies: VaultDependencies,
  merchantId: string,
  input: TokenizeInput,
  options: IdempotentTokenizeOptions,
): Promise<{ readonly answer: IdempotentAnswer; readonly replayed: boolean }> {
  const sealed = sealTokenization(dependencies, merchantId, input);
  const request = {
    table: keyTable,
    merchantId,
    key: options.idempotencyKey,
    operation: 'tokenize',
    fingerprint:
      options.idempotencyKey === undefined ? '' : tokenizeFingerprint(dependencies, merchantId, input),
    now: sealed.now,
  } as const;
  return runIdempotent(dependencies.sql, request, async (transaction) => {
    const description = await storeTokenization(transaction, sealed, options);
    return {
      answer: { status: 201, body: JSON.stringify(description) },
      resourceId: description.token,
    };
  });
}
