// Builds the vault's use cases from the platform context: resolves the keyring (generating the
// default file on first start), loads the fingerprint key, and returns the public face.
import type { PlatformContext } from '../../../platform/module.ts';
import { openKeyringSource, type KeyringSource } from '../infra/keyring-source.ts';
import type { VaultDependencies } from './dependencies.ts';
import {
  createDescriptionCache,
  describeTokenCached,
  describeTokens,
  tokensEndingIn,
  type TokenDescription,
  type TokensEndingIn,
} from './describe-token.ts';
import { detokenizeForProcessor, type DetokenizedPaymentData, type DetokenizeRequest } from './detokenize.ts';
import { loadFingerprintKey } from './load-fingerprint-key.ts';
import { purgeExpiredCvcs } from './purge-expired-cvcs.ts';
import { tokenize, type TokenizeInput, type TokenizeOptions } from './tokenize.ts';
import { tokenizeIdempotently, type IdempotentTokenizeOptions } from './tokenize-idempotently.ts';
import type { IdempotentAnswer } from '../../../platform/idempotency.ts';
import { vaultSettings } from '../settings.ts';

export interface Vault {
  tokenize(merchantId: string, input: TokenizeInput, options?: TokenizeOptions): Promise<TokenDescription>;
  /** POST /tokens: tokenize with an optional Idempotency-Key; the answer's exact bytes. */
  tokenizeIdempotently(
    merchantId: string,
    input: TokenizeInput,
    options: IdempotentTokenizeOptions,
  ): Promise<{ readonly answer: IdempotentAnswer; readonly replayed: boolean }>;
  describe(merchantId: string, token: string): Promise<TokenDescription | undefined>;
  describeMany(merchantId: string, tokens: readonly string[]): Promise<TokenDescription[]>;
  tokensEndingIn(merchantId: string, last4: string): Promise<TokensEndingIn>;
  detokenizeForProcessor(request: DetokenizeRequest): Promise<DetokenizedPaymentData>;
  purgeExpiredCvcs(signal?: AbortSignal): Promise<number>;
  readonly dependencies: VaultDependencies;
}

export function openKeyrings(context: PlatformContext): KeyringSource {
  return openKeyringSource(
    {
      masterKey: context.settings(vaultSettings).vaultMasterKey,
      keyFile: context.settings(vaultSettings).vaultKeyFile,
      dataDir: context.config.dataDir,
    },
    context.log,
  );
}

export async function openVault(
  context: PlatformContext,
  keyrings: KeyringSource = openKeyrings(context),
): Promise<Vault> {
  const fingerprintKey = await loadFingerprintKey(
    { sql: context.sql, keyrings },
    context.settings(vaultSettings).vaultFingerprintKey,
  );
  const dependencies: VaultDependencies = {
    sql: context.sql,
    keyrings,
    fingerprintKey,
    clock: context.clock,
    log: context.log,
    cvcTtlSeconds: context.settings(vaultSettings).vaultCvcTtlSeconds,
  };
  const descriptions = createDescriptionCache();
  return {
    dependencies,
    async tokenize(merchantId, input, options) {
      const description = await tokenize(dependencies, merchantId, input, options);
      descriptions.put(merchantId, description);
      return description;
    },
    tokenizeIdempotently: (merchantId, input, options) =>
      tokenizeIdempotently(dependencies, merchantId, input, options),
    describe: (merchantId, token) => describeTokenCached(dependencies.sql, descriptions, merchantId, token),
    describeMany: (merchantId, tokens) => describeTokens(dependencies.sql, merchantId, tokens),
    tokensEndingIn: (merchantId, last4) => tokensEndingIn(dependencies.sql, merchantId, last4),
    detokenizeForProcessor: (request) => detokenizeForProcessor(dependencies, request),
    purgeExpiredCvcs: (signal) => purgeExpiredCvcs(dependencies, signal),
  };
}
