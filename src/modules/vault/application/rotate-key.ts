// `payflow vault rotate-key`: add a key version to the keyring file (or explain what to do when the
// key comes from VAULT_MASTER_KEY), then re-wrap every record in small batches while the platform
// keeps serving. Running servers pick the new file up on their own (keyring-source.ts).
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { CommandContext } from '../../../platform/module.ts';
import { withAdvisoryLock } from '../../../platform/db/advisory-lock.ts';
import { parseMasterKey, rotateKeyringFile } from '../domain/envelope.ts';
import { KeyringConfigurationError, writeKeyringFile } from '../infra/keyring-source.ts';
import { openKeyrings, openVault } from './open-vault.ts';
import { rewrapAll, rewrapBatchDefault, rewrapBatchMax } from './rewrap-records.ts';
import { vaultSettings } from '../settings.ts';

export const rotateKeyUsage =
  'payflow vault rotate-key [--rewrap-only] [--batch-size N] [--new-keyring-file PATH]';

const advisoryLockKey = 7_310_200_200;

export async function runRotateKey(args: readonly string[], context: CommandContext): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      'rewrap-only': { type: 'boolean', default: false },
      'batch-size': { type: 'string', default: String(rewrapBatchDefault) },
      'new-keyring-file': { type: 'string' },
    },
    strict: true,
  });
  const batchSize = Number(values['batch-size']);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > rewrapBatchMax) {
    context.print(`--batch-size must be an integer from 1 to ${rewrapBatchMax}`);
    return 2;
  }
  const keyrings = openKeyrings(context);
  if (!values['rewrap-only']) {
    if (keyrings.origin.kind === 'environment') {
      const target = values['new-keyring-file'];
      if (target === undefined) {
        context.print(
          [
            'The vault key comes from VAULT_MASTER_KEY, which this command cannot change. To rotate:',
            '  1. payflow vault rotate-key --new-keyring-file <path>   writes a keyring (mode 0600) holding your',
            '     current key(s) plus a new active version;',
            "  2. put that file's content in VAULT_MASTER_KEY (or point VAULT_KEY_FILE at it) for every PayFlow",
            '     process and restart them;',
            '  3. payflow vault rotate-key --rewrap-only   re-wraps every record under the new version.',
          ].join('\n'),
        );
        return 1;
      }
      if (existsSync(target)) {
        throw new KeyringConfigurationError(
          `${target} already exists; give --new-keyring-file a path that does not (a keyring is never overwritten)`,
        );
      }
      writeKeyringFile(target, rotateKeyringFile(keyringTextFromEnvironment(context)), { exclusive: true });
      context.print(
        `wrote ${target} with a new active key version; install it, restart, then run --rewrap-only`,
      );
      return 0;
    }
    const file = keyrings.origin.path;
    const rotated = rotateKeyringFile(readKeyringText(file));
    writeKeyringFile(file, rotated, { exclusive: false });
    context.print(`added key version ${parseMasterKey(rotated).activeVersion} to ${file} (now active)`);
  }
  const outcome = await withAdvisoryLock(context.sql, advisoryLockKey, async () => {
    const vault = await openVault(context, keyrings);
    context.print(
      `re-wrapping records under key version ${keyrings.current().activeVersion} (batches of ${batchSize})`,
    );
    const result = await rewrapAll(vault.dependencies, {
      batchSize,
      onProgress: (progress) =>
        context.print(
          `  ${progress.table}: ${progress.rewrapped} rewrapped, ${progress.remaining} remaining of ${progress.total}`,
        ),
    });
    context.print(
      result.remaining === 0
        ? `done: ${result.rewrapped} record(s) rewrapped; every record is under key version ${result.activeVersion}`
        : `stopped with ${result.remaining} record(s) still under older versions; run with --rewrap-only again`,
    );
    return result.remaining === 0 ? 0 : 1;
  });
  if (!outcome.ran) {
    context.print('another rotate-key run is re-wrapping; it will finish the work');
    return 1;
  }
  return outcome.value;
}

function readKeyringText(file: string): string {
  const text = readFileSync(file, 'utf8');
  // A bare key file becomes a keyring holding it as version 1.
  return text.trim().startsWith('{') ? text : bareKeyAsKeyring(text);
}

function keyringTextFromEnvironment(context: CommandContext): string {
  const text = context.settings(vaultSettings).vaultMasterKey ?? '';
  return text.trim().startsWith('{') ? text : bareKeyAsKeyring(text);
}

function bareKeyAsKeyring(text: string): string {
  const trimmed = text.trim();
  parseMasterKey(trimmed); // Validates without quoting it.
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed)
    ? Buffer.from(trimmed, 'hex')
    : Buffer.from(trimmed, 'base64');
  try {
    return JSON.stringify({ active: 1, keys: { '1': key.toString('base64') } });
  } finally {
    key.fill(0);
  }
}
