// Where the keyring comes from: VAULT_MASTER_KEY, VAULT_KEY_FILE or the generated file; errors are
// one line that never quotes key material; a changed file is picked up without a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { capturingLogger } from '../../../../test/support/log.ts';
import { StartupError } from '../../../platform/db/embedded.ts';
import { rotateKeyringFile } from '../domain/envelope.ts';
import { KeyringConfigurationError, openKeyringSource, writeKeyringFile } from './keyring-source.ts';

const directory = () => mkdtempSync(path.join(os.tmpdir(), 'payflow-keyring-test-'));

test('with no setting, the first open generates a 0600 keyring under the data directory and says so without the key', () => {
  const dataDir = path.join(directory(), 'not-yet-created');
  const { log, lines } = capturingLogger();
  const source = openKeyringSource({ masterKey: undefined, keyFile: undefined, dataDir }, log);
  const file = path.join(dataDir, 'vault-keyring.json');
  assert.deepEqual(source.origin, { kind: 'file', path: file, generated: true });
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const key = (JSON.parse(readFileSync(file, 'utf8')) as { keys: Record<string, string> }).keys['1']!;
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /generated a new key-encryption keyring/);
  assert.ok(!lines[0]!.includes(key));
  // The second open reuses it.
  const again = openKeyringSource(
    { masterKey: undefined, keyFile: undefined, dataDir },
    capturingLogger().log,
  );
  assert.equal(again.origin.kind === 'file' && again.origin.generated, false);
  assert.deepEqual(again.current().versions, [1]);
});

test('VAULT_MASTER_KEY takes a bare key or a keyring; bad values fail in one line without quoting them', () => {
  const key = randomBytes(32);
  const fromHex = openKeyringSource(
    { masterKey: key.toString('hex'), keyFile: undefined, dataDir: directory() },
    capturingLogger().log,
  );
  assert.deepEqual([fromHex.origin.kind, fromHex.current().activeVersion], ['environment', 1]);
  const keyring = JSON.stringify({
    active: 2,
    keys: { '1': key.toString('base64'), '2': randomBytes(32).toString('base64') },
  });
  assert.equal(
    openKeyringSource(
      { masterKey: keyring, keyFile: undefined, dataDir: directory() },
      capturingLogger().log,
    ).current().activeVersion,
    2,
  );
  const truncated = key.toString('hex').slice(0, 60);
  for (const settings of [
    { masterKey: truncated, keyFile: undefined },
    { masterKey: key.toString('hex'), keyFile: '/nonexistent/keyring.json' },
    { masterKey: undefined, keyFile: path.join(directory(), 'missing.json') },
  ]) {
    assert.throws(
      () => openKeyringSource({ ...settings, dataDir: directory() }, capturingLogger().log),
      (error: unknown) =>
        error instanceof KeyringConfigurationError &&
        error instanceof StartupError &&
        !error.message.includes('\n') &&
        !error.message.includes(truncated.slice(0, 16)),
    );
  }
});

test('VAULT_KEY_FILE is read, a readable-by-others file is warned about, and a rotated file is picked up', () => {
  const file = path.join(directory(), 'keyring.json');
  writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o644 });
  chmodSync(file, 0o644);
  const { log, lines } = capturingLogger();
  const source = openKeyringSource({ masterKey: undefined, keyFile: file, dataDir: directory() }, log);
  assert.deepEqual(source.current().versions, [1]);
  assert.match(lines.join(''), /readable by other users/);
  assert.equal(source.reload(), false, 'an unchanged file is not a change');

  const generated = path.join(directory(), 'vault-keyring.json');
  const generatedSource = openKeyringSource(
    { masterKey: undefined, keyFile: undefined, dataDir: path.dirname(generated) },
    capturingLogger().log,
  );
  writeKeyringFile(generated, rotateKeyringFile(readFileSync(generated, 'utf8')), { exclusive: false });
  assert.equal(statSync(generated).mode & 0o777, 0o600);
  assert.equal(generatedSource.reload(), true);
  assert.deepEqual(
    [generatedSource.current().activeVersion, generatedSource.current().versions],
    [2, [1, 2]],
  );
  assert.ok(existsSync(generated));
});
