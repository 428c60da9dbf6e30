// The identity module's environment variables (ADR 30): declared here, listed on its manifest (so the
// app validates them at start and the README's configuration table shows them), read with
// `context.settings(identitySettings)`.
import { declareSettings, integer, oneOf, text, variable, type Settings } from '../../platform/settings.ts';

export const identitySettings = declareSettings({
  tokenIssuer: variable(
    'TOKEN_ISSUER',
    'payflow',
    'The `iss` of access tokens PayFlow issues and accepts.',
    text,
  ),
  tokenAudience: variable(
    'TOKEN_AUDIENCE',
    'payflow-api',
    'The `aud` of access tokens PayFlow issues and accepts.',
    text,
  ),
  tokenTtlSeconds: variable(
    'TOKEN_TTL_SECONDS',
    '900',
    'Lifetime of an access token from `POST /oauth/token`.',
    integer(60, 86400),
  ),
  tokenSigningAlgorithm: variable(
    'TOKEN_SIGNING_ALGORITHM',
    'ES256',
    'Algorithm of new signing keys: `ES256` or `EdDSA` (Ed25519). Tokens of either verify.',
    oneOf('ES256', 'EdDSA'),
  ),
  tokenLeewaySeconds: variable(
    'TOKEN_LEEWAY_SECONDS',
    '30',
    'Clock skew tolerated when checking `exp` and `nbf`.',
    integer(0, 300),
  ),
  revocationStaleMaxMs: variable(
    'REVOCATION_STALE_MAX_MS',
    '15000',
    'How long a process may serve tokens with a revocation list it could not refresh (database unreachable); past it, bearer tokens get 503 `revocations_unavailable` (ADR 15).',
    integer(2000, 3600000),
  ),
  signingKeyRotationDays: variable(
    'SIGNING_KEY_ROTATION_DAYS',
    '30',
    'The worker rotates the token-signing key when it is older than this (0: only `payflow keys rotate`).',
    integer(0, 3650),
  ),
  demoMerchant: variable(
    'DEMO_MERCHANT',
    'auto',
    'Create a demo merchant on first start and write `PAYFLOW_DATA_DIR/demo-credentials.json`: `auto` (only with the embedded database), `true` or `false`.',
    oneOf('auto', 'true', 'false'),
  ),
});

export type IdentityVariables = Settings<typeof identitySettings.variables>;
