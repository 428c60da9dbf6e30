// The identity module: merchants, API clients (OAuth 2.0 client credentials), asymmetric signing keys
// with rotation, and the bearer-token authenticator every other module's routes use.
import path from 'node:path';
import { Counter } from 'prom-client';
import type { Queryable, Sql } from '../../platform/db/client.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Config } from '../../platform/config.ts';
import type { Principal, RequestAuthenticator } from '../../platform/http/auth.ts';
import type { ModuleDefinition } from '../../platform/module.ts';
import { createClient, type ClientCredentials, type ConfidentialRole } from './application/create-client.ts';
import {
  createMerchant,
  type MerchantCredentials,
  type MerchantOptions,
} from './application/create-merchant.ts';
import { issueToken, type TokenResponse, type TokenSettings } from './application/issue-token.ts';
import { rotateClientSecret } from './application/rotate-client-secret.ts';
import { createBearerAuthenticator } from './infra/bearer-authenticator.ts';
import { createDashboardAwareAuthenticator } from './infra/dashboard-authenticator.ts';
import { registerDashboardRoutes } from './http/dashboard-routes.ts';
import { ClientRevocations } from './infra/client-revocations.ts';
import { KeyRing } from './infra/key-ring.ts';
import {
  findMerchantContact,
  findPublishableKey,
  merchantExists,
  privateJwkBinding,
} from './infra/identity-repository.ts';
import { registerAccessRoutes, registerIdentityRoutes } from './http/routes.ts';
import { registerClientRoutes } from './http/client-routes.ts';
import { registerMerchantClientRoutes } from './http/merchant-client-routes.ts';
import { registerMerchantAdminRoutes } from './http/merchant-admin-routes.ts';
import { recordMerchantRequests, registerRequestLogRoutes } from './http/request-log-routes.ts';
import { RequestLog } from './infra/request-log.ts';
import { identityCommands } from './cli.ts';
import { dashboardUserCommands } from './dashboard-cli.ts';
import { ensureDemoDashboardUser, ensureDemoMerchant } from './application/demo-merchant.ts';
import { maintainSigningKeys } from './application/rotate-signing-key.ts';
import type { Job } from '../../platform/module.ts';
import { openSecretSealer } from '../../platform/secrets.ts';
import { sealClearSigningKeys } from './application/seal-signing-keys.ts';
import { identitySettings, type IdentityVariables } from './settings.ts';

const keyMaintenanceIntervalMs = 60_000;

/** Where the dashboard is, for the first start's message. */
function dashboardUrlOf(config: Config): string {
  if (config.publicBaseUrl) return `${config.publicBaseUrl.replace(/\/+$/, '')}/dashboard`;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  return `http${config.tlsCertFile ? 's' : ''}://${host}:${config.port}/dashboard`;
}

function printDemoCredentials(credentials: MerchantCredentials, file: string): void {
  // Straight to stdout, not the log: the log redacts secrets, and this one is meant to be copied.
  process.stdout.write(
    [
      '',
      'PayFlow created a demo merchant (shown once; also in ' + file + ', mode 0600):',
      `  merchantId     ${credentials.merchantId}`,
      `  clientId       ${credentials.clientId}`,
      `  clientSecret   ${credentials.clientSecret}`,
      `  publishableKey ${credentials.publishableKey}`,
      '',
    ].join('\n') + '\n',
  );
}

export type { MerchantCredentials, MerchantOptions, ClientCredentials, ConfidentialRole, TokenResponse };

/** What other modules may know to address a merchant. */
export interface MerchantContact {
  readonly name: string;
  /** Contact email, if the merchant gave one. */
  readonly email: string | undefined;
}
export { merchantScopes, publishableScopes, adminScopes, serviceScopes } from './domain/scopes.ts';

export interface IdentityFace {
  /**
   * Verifies `Authorization: Bearer` access tokens, or a dashboard session cookie (scopes from the
   * user's role; X-CSRF-Token on changes); use with requireScopes().
   */
  readonly authenticator: RequestAuthenticator;
  /** Verifies a raw access token (for callers outside HTTP routes, e.g. service-to-service). */
  verifyToken(token: string): Promise<Principal>;
  createMerchant(name: string, options?: MerchantOptions): Promise<MerchantCredentials>;
  createClient(input: {
    role: ConfidentialRole;
    merchantId?: string;
    description?: string;
  }): Promise<ClientCredentials>;
  /** Whether a merchant with this id exists. */
  merchantExists(merchantId: string): Promise<boolean>;
  /**
   * The merchant's name and contact email (undefined: no such merchant). `sql` lets a caller read
   * inside its own transaction instead of taking a second pooled connection.
   */
  merchantContact(merchantId: string, sql?: Queryable): Promise<MerchantContact | undefined>;
  /** The merchant's publishable key (undefined: none enabled), for the hosted checkout page. */
  publishableKey(merchantId: string): Promise<string | undefined>;
  /** The client-credentials grant without HTTP (a service calling another PayFlow process). */
  issueClientToken(clientId: string, clientSecret: string): Promise<TokenResponse>;
}

export function tokenSettingsOf(variables: IdentityVariables): TokenSettings {
  return {
    issuer: variables.tokenIssuer,
    audience: variables.tokenAudience,
    ttlSeconds: variables.tokenTtlSeconds,
  };
}

/** Creates a merchant straight through the application layer (CLI, demo merchant, test support). */
export function createMerchantWith(
  dependencies: { sql: Sql; clock: Clock },
  name: string,
  options: MerchantOptions = {},
): Promise<MerchantCredentials> {
  return createMerchant(dependencies, name, options);
}

/** Creates an admin, service or merchant client straight through the application layer. */
export function createClientWith(
  dependencies: { sql: Sql; clock: Clock },
  input: { role: ConfidentialRole; merchantId?: string; description?: string },
): Promise<ClientCredentials> {
  return createClient(dependencies, input);
}

/** Creates a dashboard user straight through the application layer (CLI, demo user, test support). */
export { createDashboardUser as createDashboardUserWith } from './application/dashboard-users.ts';
export { dashboardRoles, dashboardScopes, type DashboardRole } from './domain/dashboard-users.ts';

export { rotateClientSecret };
/** The longest a disabled client's or rotated secret's tokens are still accepted by a process. */
export { revocationDelayMaxMs } from './infra/client-revocations.ts';

export const identityModule: ModuleDefinition = {
  manifest: {
    name: 'identity',
    settings: identitySettings,
    migrationsDirectory: path.join(import.meta.dirname, 'migrations'),
    redactPaths: [
      '*.clientSecret',
      '*.client_secret',
      'req.body.client_secret',
      '*.privateJwk',
      '*.private_jwk',
      '*.password',
      'req.body.password',
    ],
    commands: [...identityCommands, ...dashboardUserCommands],
    sealedColumns: [
      {
        table: 'identity.signing_keys',
        idColumn: 'kid',
        column: 'private_jwk_sealed',
        binding: privateJwkBinding,
      },
    ],
  },
  async create(context) {
    const { sql, clock, config } = context;
    const own = context.settings(identitySettings);
    // Private signing keys are sealed at rest (ADR 16); a wrong key stops the start here.
    const sealer = openSecretSealer(config, context.log);
    const sealed = await sealClearSigningKeys(sql, sealer);
    if (sealed > 0) context.log.info({ sealed }, 'identity: sealed signing keys stored in clear');
    const keyRing = new KeyRing(sql, clock, own.tokenSigningAlgorithm, sealer);
    await keyRing.ensureActiveKey();
    const settings = tokenSettingsOf(own);
    const dependencies = { sql, clock, keyRing, settings, sealer };
    const staleRefusals = context.metrics
      ? new Counter({
          name: 'payflow_identity_stale_revocation_refusals_total',
          help: 'Requests refused with 503 because the revocation list could not be refreshed for longer than REVOCATION_STALE_MAX_MS.',
          registers: [context.metrics],
        })
      : undefined;
    const revocations = new ClientRevocations(sql, context.log, {
      staleMaxMs: own.revocationStaleMaxMs,
      onStaleRefusal: () => staleRefusals?.inc(),
    });
    const authenticator = createBearerAuthenticator(
      keyRing,
      clock,
      {
        issuer: settings.issuer,
        audience: settings.audience,
        leewaySeconds: own.tokenLeewaySeconds,
      },
      context.log,
      revocations,
    );
    // Routes accept a bearer token or a dashboard session cookie (with its CSRF token on changes).
    const requestAuthenticator = createDashboardAwareAuthenticator(authenticator, { sql, clock });
    const face: IdentityFace = {
      authenticator: requestAuthenticator,
      verifyToken: (token) => authenticator.verify(token),
      createMerchant: (name, options) => createMerchant(dependencies, name, options),
      createClient: (input) => createClient(dependencies, input),
      merchantExists: (merchantId) => merchantExists(sql, merchantId),
      merchantContact: (merchantId, caller) => findMerchantContact(caller ?? sql, merchantId),
      publishableKey: (merchantId) => findPublishableKey(sql, merchantId),
      issueClientToken: (clientId, clientSecret) =>
        issueToken(dependencies, {
          grantType: 'client_credentials',
          clientId,
          clientSecret,
          scope: undefined,
        }),
    };
    const demoOptions = {
      mode: own.demoMerchant,
      embeddedDatabase: config.databaseUrl === undefined,
      dataDir: config.dataDir,
    };
    const demo = await ensureDemoMerchant(dependencies, demoOptions);
    if (demo) printDemoCredentials(demo.credentials, demo.file);
    const demoUser = await ensureDemoDashboardUser(dependencies, demoOptions);
    if (demoUser)
      process.stdout.write(
        `Dashboard: sign in at ${dashboardUrlOf(config)} as ${demoUser.email} with password ` +
          `${demoUser.password} (shown once; also in ${demoUser.file}).\n\n`,
      );
    const keyMaintenance: Job = {
      name: 'identity.signing-keys',
      intervalMs: keyMaintenanceIntervalMs,
      async run() {
        const result = await maintainSigningKeys(dependencies, {
          algorithm: own.tokenSigningAlgorithm,
          tokenTtlSeconds: own.tokenTtlSeconds,
          leewaySeconds: own.tokenLeewaySeconds,
          rotateAfterMs: own.signingKeyRotationDays * 86_400_000,
        });
        if (result.rotated) context.log.info({ kid: result.rotated.kid }, 'signing key rotated on schedule');
        if (result.retired.length > 0) context.log.info({ kids: result.retired }, 'signing keys retired');
      },
    };
    const requestLog = new RequestLog(sql, context.log);
    // Last, so that a failure above leaves no listening connection behind.
    await revocations.start();
    return {
      name: 'identity',
      jobs: [keyMaintenance],
      async registerRoutes(app) {
        // Recent API requests per merchant (ADR 32): recorded in memory, written in batches.
        recordMerchantRequests(app, requestLog);
        requestLog.start();
        registerRequestLogRoutes(app, dependencies, requestAuthenticator);
        await registerIdentityRoutes(app, dependencies);
        registerAccessRoutes(app, dependencies, authenticator);
        // Admin routes take an admin token or an operator's dashboard session (ADR 32).
        registerClientRoutes(app, dependencies, requestAuthenticator);
        registerMerchantAdminRoutes(app, dependencies, requestAuthenticator);
        registerMerchantClientRoutes(app, dependencies, requestAuthenticator);
        registerDashboardRoutes(app, {
          sql,
          clock,
          authenticator: requestAuthenticator,
          secureCookies:
            config.tlsCertFile !== undefined || (config.publicBaseUrl ?? '').startsWith('https:'),
        });
      },
      face,
      async close() {
        await requestLog.close();
        await revocations.close();
      },
    };
  },
};

/** Issues a token without HTTP (tests of other processes, service tokens). */
export { issueToken };
