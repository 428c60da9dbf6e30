// The vault module's environment variables (ADR 30): declared here, listed on its manifest (so the
// app validates them at start and the README's configuration table shows them), read with
// `context.settings(vaultSettings)`.
import {
  declareSettings,
  integer,
  optionalText,
  optionalUrl,
  variable,
  type Settings,
} from '../../platform/settings.ts';

export const vaultSettings = declareSettings({
  vaultMasterKey: variable(
    'VAULT_MASTER_KEY',
    undefined,
    'Vault key-encryption key: 32 bytes as hex or base64, or a keyring JSON. Unset (and no `VAULT_KEY_FILE`): a keyring is generated into `PAYFLOW_DATA_DIR/vault-keyring.json`.',
    optionalText,
  ),
  vaultKeyFile: variable(
    'VAULT_KEY_FILE',
    undefined,
    'Path of the vault keyring file (same formats as `VAULT_MASTER_KEY`); `payflow vault rotate-key` adds versions to it.',
    optionalText,
  ),
  vaultFingerprintKey: variable(
    'VAULT_FINGERPRINT_KEY',
    undefined,
    'Root key (32+ bytes, hex or base64) for card fingerprints. Unset: one is generated per database, stored wrapped under the vault keyring.',
    optionalText,
  ),
  vaultCvcTtlSeconds: variable(
    'VAULT_CVC_TTL_SECONDS',
    '900',
    'How long a tokenized CVC waits for its authorization before it is purged.',
    integer(30, 86400),
  ),
  vaultUrl: variable(
    'VAULT_URL',
    undefined,
    'Base URL of a separate vault process (`payflow start --role vault`). Set: this process holds no vault key and asks that process for card data. Unset: the vault runs in-process.',
    optionalUrl('http:', 'https:'),
  ),
  vaultClientId: variable(
    'VAULT_CLIENT_ID',
    undefined,
    'Service client (`payflow clients create --role service`) this process uses to call the vault at `VAULT_URL`.',
    optionalText,
  ),
  vaultClientSecret: variable('VAULT_CLIENT_SECRET', undefined, 'Secret of `VAULT_CLIENT_ID`.', optionalText),
});

export type VaultVariables = Settings<typeof vaultSettings.variables>;
