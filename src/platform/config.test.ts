import { test } from 'node:test';
import assert from 'node:assert/strict';
import { platformSettings } from './config.ts';
import { ConfigurationError, loadSettings } from './settings.ts';

test('defaults apply when the environment is empty', () => {
  const config = loadSettings(platformSettings, {});
  assert.equal(config.port, 8080);
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.databaseUrl, undefined);
  assert.equal(config.migrateOnStart, true);
  assert.ok(config.dataDir.endsWith('.payflow'));
});

test('an invalid value names its variable in one line', () => {
  const cases: Record<string, string> = {
    PORT: 'eighty',
    DATABASE_URL: 'mysql://localhost/x',
    MIGRATE_ON_START: 'perhaps',
    LOG_LEVEL: 'loud',
    BODY_LIMIT_BYTES: '5',
  };
  for (const [name, value] of Object.entries(cases)) {
    assert.throws(
      () => loadSettings(platformSettings, { [name]: value }),
      (error: unknown) =>
        error instanceof ConfigurationError &&
        error.problems.length === 1 &&
        error.problems[0]!.variable === name &&
        error.message.startsWith(`invalid configuration: ${name} `) &&
        !error.message.includes('\n'),
      name,
    );
  }
});

test('every invalid value is reported at once, one line per variable naming it', () => {
  assert.throws(
    () => loadSettings(platformSettings, { PORT: 'eighty', LOG_LEVEL: 'loud', HOST: 'localhost' }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigurationError);
      assert.deepEqual(
        error.problems.map((problem) => problem.variable),
        ['PORT', 'LOG_LEVEL'],
      );
      const lines = error.message.split('\n');
      assert.equal(lines.length, 2);
      assert.match(lines[0]!, /^invalid configuration: PORT must be an integer/);
      assert.match(lines[1]!, /^invalid configuration: LOG_LEVEL must be one of/);
      return true;
    },
  );
});
