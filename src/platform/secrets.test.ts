// The platform secrets sealer: AES-256-GCM bound to its row and column, a key id in every value, and
// the key from PAYFLOW_SECRETS_KEY, PAYFLOW_SECRETS_KEY_FILE or a generated 0600 file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { capturingLogger } from '../../test/support/log.ts';
import { StartupError } from './db/embedded.ts';
import { createSecretSealer, openSecretSealer, parseSecretsKey, UnsealError } from './secrets.ts';

const directory = () => mkdtempSync(path.join(os.tmpdir(), 'payflow-secrets-test-'));
const binding = { table: 'notifications.webhook_endpoints', id: 'we_1', column: 'secret_sealed' };

test('a sealed value opens only with its key and at its row and column, and never shows the secret', () => {
  const sealer = createSecretSealer(randomBytes(32));
  const secret = 'whsec_' + randomBytes(32).toString('base64');
  const sealed = sealer.seal(secret, binding);
  assert.match(
    sealed,
    new RegExp(`^pfs1\\.${sealer.keyId}\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$`),
  );
  assert.ok(!sealed.includes('whsec_') && !sealed.includes(secret.slice(6, 20)));
  assert.notEqual(sealer.seal(secret, binding), sealed, 'a random nonce per seal');
  assert.equal(sealer.unseal(sealed, binding), secret);
  const failure = (run: () => unknown) => {
    try {
      run();
    } catch (error) {
      assert.ok(error instanceof UnsealError);
      return error.code;
    }
    return 'opened';
  };
  assert.equal(
    failure(() => sealer.unseal(sealed, { ...binding, id: 'we_2' })),
    'authentication_failed',
  );
  assert.equal(
    failure(() => sealer.unseal(sealed, { ...binding, column: 'previous_secret_sealed' })),
    'authentication_failed',
  );
  const parts = sealed.split('.');
  const flipped = Buffer.from(parts[3]!, 'base64url');
  flipped[0] = flipped[0]! ^ 1;
  parts[3] = flipped.toString('base64url');
  assert.equal(
    failure(() => sealer.unseal(parts.join('.'), binding)),
    'authentication_failed',
  );
  assert.equal(
    failure(() => createSecretSealer(randomBytes(32)).unseal(sealed, binding)),
    'unknown_key',
  );
  assert.equal(
    failure(() => sealer.unseal(secret, binding)),
    'malformed',
  );
});

test('keys are 32 bytes as hex or base64; anything else, or all zeros, is refused', () => {
  const key = randomBytes(32);
  assert.deepEqual(parseSecretsKey(key.toString('hex')), key);
  assert.deepEqual(parseSecretsKey(key.toString('base64')), key);
  assert.deepEqual(parseSecretsKey(` ${key.toString('base64url')}\n`), key);
  assert.equal(parseSecretsKey(randomBytes(16).toString('hex')), null);
  assert.equal(parseSecretsKey('0'.repeat(64)), null);
  assert.equal(parseSecretsKey('not a key'), null);
});

test('with no setting, the first open generates a 0600 key file in the data directory and warns without the key', () => {
  const dataDir = path.join(directory(), 'not-yet-created');
  const { log, lines } = capturingLogger();
  const sealer = openSecretSealer({ secretsKey: undefined, secretsKeyFile: undefined, dataDir }, log);
  const file = path.join(dataDir, 'secrets-key');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const key = readFileSync(file, 'utf8').trim();
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /generated a new secrets key/);
  assert.ok(!lines[0]!.includes(key));
  const again = openSecretSealer(
    { secretsKey: undefined, secretsKeyFile: undefined, dataDir },
    capturingLogger().log,
  );
  assert.equal(again.keyId, sealer.keyId);
  assert.equal(again.unseal(sealer.seal('x', binding), binding), 'x');
  const fromEnvironment = openSecretSealer(
    { secretsKey: key, secretsKeyFile: undefined, dataDir: directory() },
    capturingLogger().log,
  );
  assert.equal(fromEnvironment.keyId, sealer.keyId);
  const fromFile = openSecretSealer(
    { secretsKey: undefined, secretsKeyFile: file, dataDir: directory() },
    capturingLogger().log,
  );
  assert.equal(fromFile.keyId, sealer.keyId);
});

test('bad settings fail as one StartupError line naming the variable and never quoting the value', () => {
  const badKey = 'secret-looking-but-wrong-' + randomBytes(8).toString('hex');
  const file = path.join(directory(), 'key');
  writeFileSync(file, badKey, { mode: 0o600 });
  const cases: [Parameters<typeof openSecretSealer>[0], RegExp][] = [
    [{ secretsKey: badKey, secretsKeyFile: undefined, dataDir: directory() }, /^PAYFLOW_SECRETS_KEY must be/],
    [
      { secretsKey: randomBytes(32).toString('hex'), secretsKeyFile: file, dataDir: directory() },
      /^set only one of PAYFLOW_SECRETS_KEY and PAYFLOW_SECRETS_KEY_FILE$/,
    ],
    [{ secretsKey: undefined, secretsKeyFile: file, dataDir: directory() }, /^secrets key file .* must be/],
    [
      { secretsKey: undefined, secretsKeyFile: path.join(directory(), 'missing'), dataDir: directory() },
      /^cannot read the secrets key file .*: ENOENT$/,
    ],
  ];
  for (const [settings, message] of cases) {
    assert.throws(
      () => openSecretSealer(settings, capturingLogger().log),
      (error: unknown) =>
        error instanceof StartupError &&
        message.test(error.message) &&
        !error.message.includes(badKey) &&
        !error.message.includes('\n'),
    );
  }
});
