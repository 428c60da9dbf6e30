// Detokenize for a payment processor (never for a merchant; there is no HTTP route). One statement
// loads the merchant's token, for an authorization deletes-and-returns its CVC (so it never survives
// the authorization, PCI DSS 3.3.1), and appends the audit row (who, when, token, purpose, outcome;
// never the data) before anything leaves the vault; then decrypt. A failed decryption is audited
// with a row of its own. No outside calls.
import { createBatcher, perClient } from '../../../platform/db/batcher.ts';
import type { Queryable } from '../../../platform/db/client.ts';
import { DomainError } from '../../../platform/errors.ts';
import { isId } from '../../../platform/ids.ts';
import { Secret } from '../domain/masked.ts';
import {
  appendAccessLog,
  takeTokenForRelease,
  takeTokensForRelease,
  type ReleaseRequest,
  type TokenWithSecret,
} from '../infra/vault-repository.ts';
import { cvcAad, decryptWithReload, type VaultDependencies } from './dependencies.ts';
import type { SealedPayload } from './tokenize.ts';

export const detokenizePurposes = ['authorization', 'capture', 'refund', 'void'] as const;
export type DetokenizePurpose = (typeof detokenizePurposes)[number];

export interface DetokenizeRequest {
  readonly merchantId: string;
  readonly token: string;
  readonly purpose: DetokenizePurpose;
  /** Who asks: the calling component or client, recorded in the audit log. */
  readonly actor: string;
}

export interface DetokenizedCard {
  readonly kind: 'card';
  readonly number: Secret<string>;
  readonly expMonth: number;
  readonly expYear: number;
  /** Present only for the first authorization after tokenization, within the CVC's time to live. */
  readonly cvc?: Secret<string>;
  readonly brand: string;
  readonly last4: string;
  readonly holderName?: string;
}

export interface DetokenizedWallet {
  readonly kind: 'wallet';
  readonly type: string;
  readonly networkToken: Secret<string>;
  readonly cryptogram: Secret<string>;
  readonly expMonth: number;
  readonly expYear: number;
  readonly brand: string;
  readonly last4: string;
}

export type DetokenizedPaymentData = DetokenizedCard | DetokenizedWallet;

function tokenNotFound(): DomainError {
  return new DomainError('token_not_found', 404, 'No such token.');
}

function parsePayload(plaintext: Buffer): SealedPayload {
  try {
    return JSON.parse(plaintext.toString('utf8')) as SealedPayload;
  } finally {
    plaintext.fill(0);
  }
}

/** Release statements running at once per database client (each holds a connection of the pool). */
export const releaseStatementsInFlight = 4;
/** Requests in one release statement at most. */
export const releaseBatchMax = 64;

/**
 * Releases of concurrent authorizations leave as one statement per batch (batching across requests,
 * ADR 18): alone at low load, together while earlier ones run. One batcher per database client.
 */
const releaseBatcher = perClient((sql: Queryable) =>
  createBatcher<ReleaseRequest, TokenWithSecret | undefined>({
    maxInFlight: releaseStatementsInFlight,
    maxBatch: releaseBatchMax,
    runBatch: (requests) => takeTokensForRelease(sql, requests),
    runOne: (request) =>
      takeTokenForRelease(sql, request.merchantId, request.tokenId, request.takeCvc, request.audit),
  }),
);

export async function detokenizeForProcessor(
  dependencies: VaultDependencies,
  request: DetokenizeRequest,
): Promise<DetokenizedPaymentData> {
  if (!(detokenizePurposes as readonly string[]).includes(request.purpose)) {
    throw new TypeError(`purpose must be one of ${detokenizePurposes.join(', ')}`);
  }
  const now = dependencies.clock.now();
  const audit = {
    occurredAt: now,
    actor: typeof request.actor === 'string' && request.actor !== '' ? request.actor : 'unknown',
    action: 'detokenize' as const,
    merchantId: request.merchantId,
    tokenId: isId('tok', String(request.token)) ? request.token : null,
    purpose: request.purpose,
    detail: null,
  };
  // One statement reads the token, takes its CVC and writes the audit row ('released' or
  // 'not_found') before anything leaves the vault (ADR 18, migration 0203); under load, one statement
  // for the releases of many requests (a CVC still goes to one of them only). A record that then
  // does not decrypt gets a 'failed' row after it: nothing was handed over.
  if (!audit.tokenId) {
    await appendAccessLog(dependencies.sql, { ...audit, outcome: 'not_found', cvcReleased: false });
    throw tokenNotFound();
  }
  const token = await releaseBatcher(dependencies.sql).submit({
    merchantId: request.merchantId,
    tokenId: audit.tokenId,
    takeCvc: request.purpose === 'authorization',
    audit,
  });
  if (!token) throw tokenNotFound();
  let payload: SealedPayload;
  let cvc: Secret<string> | undefined;
  try {
    payload = parsePayload(decryptWithReload(dependencies, token.secret, token.tokenId));
    if (token.cvc && token.cvc.expiresAt.getTime() > now.getTime()) {
      const clear = decryptWithReload(dependencies, token.cvc, cvcAad(token.tokenId));
      cvc = new Secret(clear.toString('ascii'));
      clear.fill(0);
    }
  } catch (error) {
    const detail = error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 500) : 'error';
    await appendAccessLog(dependencies.sql, { ...audit, outcome: 'failed', cvcReleased: false, detail });
    dependencies.log.error(
      { token: audit.tokenId, purpose: request.purpose },
      'vault: a token could not be decrypted',
    );
    throw new Error('the vault could not decrypt the token (see the vault access log)');
  }
  if (payload.kind === 'card') {
    return {
      kind: 'card',
      number: new Secret(payload.number),
      expMonth: token.expMonth,
      expYear: token.expYear,
      ...(cvc ? { cvc } : {}),
      brand: token.brand,
      last4: token.last4,
      ...(payload.holderName ? { holderName: payload.holderName } : {}),
    };
  }
  return {
    kind: 'wallet',
    type: token.walletType ?? '',
    networkToken: new Secret(payload.networkToken),
    cryptogram: new Secret(payload.cryptogram),
    expMonth: token.expMonth,
    expYear: token.expYear,
    brand: token.brand,
    last4: token.last4,
  };
}
