// The vault: the only place a card number exists in clear. Other modules see tokens and public
// descriptions; payment processors alone call detokenizeForProcessor, and every call is audited.
// See README "Card vault" and docs/adr/0007-vault-key-hierarchy.md.
import { fileURLToPath } from 'node:url';
import type { ModuleDefinition, ModuleFaces } from '../../platform/module.ts';
import type { IdentityFace } from '../identity/index.ts';
import type { Job, ModuleRuntime, PlatformContext } from '../../platform/module.ts';
import { DomainError } from '../../platform/errors.ts';
import { StartupError } from '../../platform/db/embedded.ts';
import { openVault } from './application/open-vault.ts';
import { rotateKeyUsage, runRotateKey } from './application/rotate-key.ts';
import { registerTokenRoutes } from './http/routes.ts';
import { keyTable } from './application/tokenize-idempotently.ts';
import { keyReaperJob } from '../../platform/idempotency.ts';
import { registerInternalRoutes } from './http/internal-routes.ts';
import { createRemoteVault } from './infra/remote-vault.ts';

export { Secret } from './domain/masked.ts';
export type {
  CardDescription,
  TokenDescription,
  TokensEndingIn,
  WalletDescription,
} from './application/describe-token.ts';
export { describeTokensMax, tokensEndingInMax } from './application/describe-token.ts';
export type {
  DetokenizedCard,
  DetokenizedPaymentData,
  DetokenizedWallet,
  DetokenizePurpose,
  DetokenizeRequest,
} from './application/detokenize.ts';
export type { TokenizeInput, TokenizeOptions } from './application/tokenize.ts';

import type { TokenDescription, TokensEndingIn } from './application/describe-token.ts';
import type { DetokenizedPaymentData, DetokenizeRequest } from './application/detokenize.ts';
import type { TokenizeInput, TokenizeOptions } from './application/tokenize.ts';
import { vaultSettings } from './settings.ts';

/** What later modules (payments) use: `faces['vault'] as VaultFace`. */
export interface VaultFace {
  /** Validates and stores card or wallet data; throws DomainError (400/422 with a precise code). */
  tokenize(merchantId: string, input: TokenizeInput, options?: TokenizeOptions): Promise<TokenDescription>;
  /** The public description of the merchant's token, or undefined (also for another merchant's token). */
  describe(merchantId: string, token: string): Promise<TokenDescription | undefined>;
  /** The descriptions of up to describeTokensMax of the merchant's tokens; unknown ones left out. */
  describeMany(merchantId: string, tokens: readonly string[]): Promise<TokenDescription[]>;
  /** The merchant's tokens whose card (or wallet) ends in `last4`, for payment search. */
  tokensEndingIn(merchantId: string, last4: string): Promise<TokensEndingIn>;
  /**
   * The clear card or wallet data for a processor call; audit-logged. With purpose 'authorization'
   * the CVC is returned (if still held) and destroyed in the same transaction. Unknown token or
   * another merchant's token: DomainError `token_not_found` (404).
   */
  detokenizeForProcessor(request: DetokenizeRequest): Promise<DetokenizedPaymentData>;
}

export const cvcPurgeIntervalMs = 60_000;

export const vaultModule: ModuleDefinition = {
  manifest: {
    name: 'vault',
    settings: vaultSettings,
    migrationsDirectory: fileURLToPath(new URL('./migrations', import.meta.url)),
    // Fastify never logs bodies; these paths catch card data passed to a logger by mistake.
    redactPaths: [
      'body',
      'req.body',
      'request.body',
      '*.body',
      'card',
      'wallet',
      'number',
      'cvc',
      'networkToken',
      'cryptogram',
      '*.card',
      '*.wallet',
      '*.networkToken',
      '*.cryptogram',
      '*.holderName',
      '*.digits',
      '*.wrappedKey',
      '*.ciphertext',
      '*.masterKey',
      '*.fingerprintKey',
      '*.vaultMasterKey',
      '*.vaultFingerprintKey',
      '*.vaultClientSecret',
    ],
    commands: [
      {
        path: ['vault', 'rotate-key'],
        summary: 'Add a vault key version and re-wrap every record under it (while PayFlow serves).',
        usage: rotateKeyUsage,
        needsDatabase: true,
        run: runRotateKey,
      },
    ],
  },
  async create(context, faces) {
    const vaultUrl = context.role === 'vault' ? undefined : context.settings(vaultSettings).vaultUrl;
    if (vaultUrl) return remoteVaultRuntime(context, faces, vaultUrl);
    const vault = await openVault(context);
    const face: VaultFace = {
      tokenize: vault.tokenize,
      describe: vault.describe,
      describeMany: vault.describeMany,
      tokensEndingIn: vault.tokensEndingIn,
      detokenizeForProcessor: vault.detokenizeForProcessor,
    };
    const purgeJob: Job = {
      name: 'vault.purge-expired-cvcs',
      intervalMs: cvcPurgeIntervalMs,
      async run(signal) {
        const purged = await vault.purgeExpiredCvcs(signal);
        if (purged > 0) context.log.info({ purged }, 'vault: purged expired CVC records');
      },
    };
    return {
      name: 'vault',
      face,
      jobs: [
        purgeJob,
        keyReaperJob({
          name: 'vault.reap-idempotency-keys',
          sql: context.sql,
          table: keyTable,
          retentionHours: context.config.idempotencyKeyRetentionHours,
          now: () => context.clock.now(),
          log: context.log,
        }),
      ],
      registerRoutes(app) {
        const identity = faces['identity'] as IdentityFace | undefined;
        if (!identity?.authenticator) {
          context.log.warn('vault: no identity module, so /tokens routes are not served');
          return;
        }
        registerTokenRoutes(app, {
          authenticator: identity.authenticator,
          tokenizeIdempotently: vault.tokenizeIdempotently,
          describe: vault.describe,
        });
        // Only a `--role vault` process answers other processes' processors.
        if (context.role === 'vault')
          registerInternalRoutes(app, { authenticator: identity.authenticator, ...face });
      },
    };
  },
};

/**
 * VAULT_URL set (any role but `vault`): no keyring is opened and no /tokens route is served here;
 * describe, describeMany, tokensEndingIn and detokenizeForProcessor go to the vault process with a service token.
 */
function remoteVaultRuntime(
  context: PlatformContext,
  faces: ModuleFaces,
  vaultUrl: string,
): ModuleRuntime & { face: VaultFace } {
  const { vaultClientId, vaultClientSecret } = context.settings(vaultSettings);
  if (!vaultClientId || !vaultClientSecret)
    throw new StartupError('VAULT_URL needs VAULT_CLIENT_ID and VAULT_CLIENT_SECRET (a service client)');
  const identity = faces['identity'] as IdentityFace | undefined;
  if (!identity) throw new StartupError('VAULT_URL needs the identity module to obtain service tokens');
  const remote = createRemoteVault({
    baseUrl: vaultUrl,
    clock: context.clock,
    async issueServiceToken() {
      const issued = await identity.issueClientToken(vaultClientId, vaultClientSecret);
      return { accessToken: issued.access_token, expiresInSeconds: issued.expires_in };
    },
  });
  const face: VaultFace = {
    tokenize() {
      return Promise.reject(
        new DomainError('vault_remote', 404, 'Tokenization is served by the vault process (VAULT_URL).'),
      );
    },
    describe: remote.describe,
    describeMany: remote.describeMany,
    tokensEndingIn: remote.tokensEndingIn,
    detokenizeForProcessor: remote.detokenizeForProcessor,
  };
  context.log.info({ vaultUrl }, 'vault: card data comes from the vault process at VAULT_URL');
  return { name: 'vault', face };
}
