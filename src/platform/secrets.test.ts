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
import {
  createSecretSealer,
  keyIdOf,
  openSecretSealer,
  parseSecretsKey,
  parseSecretsKeys,
  rotatedSecretsKeyringText,
  sealedKeyId,
  secretsKeysMax,
  UnsealError,
} from './secrets.ts';

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

test('a keyring seals with its first key and opens values sealed under any of its keys', () => {
  const older = randomBytes(32);
  const newer = randomBytes(32);
  const olderSealer = createSecretSealer(older);
  const sealedBefore = olderSealer.seal('before', binding);
  const keyring = createSecretSealer([newer, older]);
  assert.equal(keyring.keyId, keyIdOf(newer));
  assert.deepEqual(keyring.keyIds, [keyIdOf(newer), keyIdOf(older)]);
  assert.equal(keyring.unseal(sealedBefore, binding), 'before');
  const sealedAfter = keyring.seal('after', binding);
  assert.equal(sealedKeyId(sealedAfter), keyIdOf(newer));
  assert.throws(
    () => olderSealer.unseal(sealedAfter, binding),
    (error: unknown) => error instanceof UnsealError && error.code === 'unknown_key',
  );
  // The binding still holds under a retired key.
  assert.throws(
    () => keyring.unseal(sealedBefore, { ...binding, id: 'we_2' }),
    (error: unknown) => error instanceof UnsealError && error.code === 'authentication_failed',
  );
});

test('keyring text: keys one per line (or comma-separated), no repeats, a bounded count, errors never quote a key', () => {
  const [first, second] = [randomBytes(32), randomBytes(32)];
  assert.deepEqual(parseSecretsKeys(`${first.toString('base64')}\n${second.toString('hex')}\n`), [
    first,
    second,
  ]);
  assert.deepEqual(parseSecretsKeys(`${first.toString('hex')}, ${second.toString('base64url')}`), [
    first,
    second,
  ]);
  const rotated = parseSecretsKeys(rotatedSecretsKeyringText([first, second]));
  assert.equal(rotated.length, 3);
  assert.deepEqual(rotated.slice(1), [first, second]);
  assert.throws(
    () => parseSecretsKeys(`${first.toString('hex')}\n${first.toString('base64')}`),
    /the same key twice/,
  );
  const tooMany = Array.from({ length: secretsKeysMax + 1 }, () => randomBytes(32).toString('hex')).join(
    '\n',
  );
  assert.throws(() => parseSecretsKeys(tooMany), /at most/);
  const wrong = 'not-a-key-' + randomBytes(8).toString('hex');
  assert.throws(
    () => parseSecretsKeys(`${first.toString('hex')}\n${wrong}`),
    (error: Error) => /^key 2 must be/.test(error.message) && !error.message.includes(wrong),
  );
  assert.throws(() => parseSecretsKeys(' \n'), /must be/);
});

test('a file-backed sealer picks up a key put first in its file when it meets a value sealed under it', () => {
  const file = path.join(directory(), 'secrets-key');
  const older = randomBytes(32);
  writeFileSync(file, `${older.toString('base64')}\n`, { mode: 0o600 });
  const settings = { secretsKey: undefined, secretsKeyFile: file, dataDir: directory() };
  const running = openSecretSealer(settings, capturingLogger().log);
  const sealedByRunning = running.seal('before', binding);
  // What `payflow secrets rotate-key` does: a new key first, the older one kept.
  writeFileSync(file, rotatedSecretsKeyringText([older]), { mode: 0o600 });
  const rotator = openSecretSealer(settings, capturingLogger().log);
  assert.notEqual(rotator.keyId, running.keyId);
  const resealed = rotator.seal(rotator.unseal(sealedByRunning, binding), binding);
  assert.equal(running.unseal(resealed, binding), 'before', 'the running process re-read the file');
  assert.equal(running.keyId, rotator.keyId, 'and seals with the new key from then on');
  assert.equal(sealedKeyId(running.seal('after', binding)), rotator.keyId);
  // A file replaced by one the process cannot read leaves the keys it holds.
  writeFileSync(file, 'garbage', { mode: 0o600 });
  assert.throws(
    () => running.unseal(createSecretSealer(randomBytes(32)).seal('x', binding), binding),
    (error: unknown) => error instanceof UnsealError && error.code === 'unknown_key',
  );
  assert.equal(running.unseal(resealed, binding), 'before');
});
