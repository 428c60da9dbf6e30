// Key material from a variable, a file or a generated 0600 file: which one wins, what is warned
// about, and that every failure is one start-up error line in the kind's own words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { capturingLogger } from '../../test/support/log.ts';
import { StartupError } from './db/embedded.ts';
import {
  resolveKeyMaterial,
  writePrivateFile,
  type KeyMaterialKind,
  type KeyMaterialSettings,
} from './key-material.ts';

class TestKeyError extends StartupError {
  override name = 'TestKeyError';
}

const directory = () => mkdtempSync(path.join(os.tmpdir(), 'payflow-key-material-test-'));
let generatedCount = 0;

/** A toy kind: the material is a word of 8 lowercase letters. */
const kind: KeyMaterialKind<string> = {
  valueVariable: 'TEST_KEY',
  fileVariable: 'TEST_KEY_FILE',
  fileLabel: 'test key file',
  defaultFileName: 'test-key',
  logField: 'testKeyFile',
  generatedWarning: 'test: generated a new key; back it up',
  sharedWarning: 'test: the key file is readable by other users',
  error: TestKeyError,
  parse(text) {
    const word = text.trim();
    if (!/^[a-z]{8}$/.test(word)) throw new Error('must be 8 lowercase letters');
    return word;
  },
  badValue: (reason) => `TEST_KEY ${reason}`,
  generate: () => {
    generatedCount += 1;
    return 'generatd\n';
  },
};

const settings = (value: string | undefined, file: string | undefined): KeyMaterialSettings => ({
  value,
  file,
  dataDir: directory(),
});

function failure(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof TestKeyError, `a TestKeyError, not ${String(error)}`);
    assert.ok(!error.message.includes('\n'));
    return error.message;
  }
  assert.fail('no error');
}

test('the variable wins with no file touched; a bad value is the kind’s message, never the value', () => {
  const { log, lines } = capturingLogger();
  const fromValue = resolveKeyMaterial(settings(' abcdefgh\n', undefined), kind, log);
  assert.deepEqual(fromValue, { material: 'abcdefgh', origin: { kind: 'environment' } });
  assert.deepEqual(lines, []);
  const message = failure(() => resolveKeyMaterial(settings('Secret-Value-9', undefined), kind, log));
  assert.equal(message, 'TEST_KEY must be 8 lowercase letters');
  assert.equal(
    failure(() => resolveKeyMaterial(settings('abcdefgh', '/some/file'), kind, log)),
    'set only one of TEST_KEY and TEST_KEY_FILE',
  );
});

test('a named file is read, warned about when others can read it, and its failures name the file', () => {
  const file = path.join(directory(), 'key');
  writeFileSync(file, 'qwertyui\n');
  chmodSync(file, 0o644);
  const { log, lines } = capturingLogger();
  const material = resolveKeyMaterial(settings(undefined, file), kind, log);
  assert.deepEqual(material, {
    material: 'qwertyui',
    origin: { kind: 'file', path: file, generated: false },
  });
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /test: the key file is readable by other users/);
  assert.equal((JSON.parse(lines[0]!) as { testKeyFile: string }).testKeyFile, file);

  chmodSync(file, 0o600);
  const quiet = capturingLogger();
  resolveKeyMaterial(settings(undefined, file), kind, quiet.log);
  assert.deepEqual(quiet.lines, []);

  writeFileSync(file, 'Not-A-Key');
  assert.equal(
    failure(() => resolveKeyMaterial(settings(undefined, file), kind, log)),
    `test key file ${file}: must be 8 lowercase letters`,
  );
  const missing = path.join(directory(), 'missing');
  assert.equal(
    failure(() => resolveKeyMaterial(settings(undefined, missing), kind, log)),
    `cannot read the test key file ${missing}: ENOENT`,
  );
  const relative = path.relative(process.cwd(), missing);
  assert.match(
    failure(() => resolveKeyMaterial(settings(undefined, relative), kind, log)),
    new RegExp(`^cannot read the test key file ${missing}: ENOENT$`),
    'a relative path is resolved',
  );
});

test('with neither set, the first resolve generates a 0600 file once, warns once, and later ones reuse it', () => {
  const dataDir = path.join(directory(), 'not-yet-created');
  const file = path.join(dataDir, 'test-key');
  const before = generatedCount;
  const { log, lines } = capturingLogger();
  const first = resolveKeyMaterial({ value: undefined, file: undefined, dataDir }, kind, log);
  assert.deepEqual(first, { material: 'generatd', origin: { kind: 'file', path: file, generated: true } });
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(dataDir).mode & 0o777, 0o700);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /test: generated a new key; back it up/);
  assert.equal((JSON.parse(lines[0]!) as { testKeyFile: string }).testKeyFile, file);
  assert.deepEqual(readdirSync(dataDir), ['test-key'], 'no temporary file left behind');

  const again = capturingLogger();
  const second = resolveKeyMaterial({ value: undefined, file: undefined, dataDir }, kind, again.log);
  assert.deepEqual(second, { material: 'generatd', origin: { kind: 'file', path: file, generated: false } });
  assert.deepEqual(again.lines, []);
  assert.equal(generatedCount, before + 1);

  chmodSync(file, 0o640);
  const shared = capturingLogger();
  resolveKeyMaterial({ value: undefined, file: undefined, dataDir }, kind, shared.log);
  assert.match(shared.lines.join(''), /readable by other users/);
});

test('a default file that cannot be created is one line naming it', () => {
  const blocker = path.join(directory(), 'a-file');
  writeFileSync(blocker, '');
  const dataDir = path.join(blocker, 'data');
  assert.equal(
    failure(() =>
      resolveKeyMaterial({ value: undefined, file: undefined, dataDir }, kind, capturingLogger().log),
    ),
    `cannot create the test key file ${path.join(dataDir, 'test-key')}: ENOTDIR`,
  );
});

test('writePrivateFile: exclusive refuses an existing file and leaves it alone; otherwise it replaces it', () => {
  const dir = directory();
  const file = path.join(dir, 'private');
  writePrivateFile(file, 'one', { exclusive: true });
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.throws(
    () => writePrivateFile(file, 'two', { exclusive: true }),
    (error: unknown) => (error as NodeJS.ErrnoException).code === 'EEXIST',
  );
  assert.equal(readFileSync(file, 'utf8'), 'one');
  writePrivateFile(file, 'three', { exclusive: false });
  assert.equal(readFileSync(file, 'utf8'), 'three');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), ['private'], 'no temporary file left behind');
});
