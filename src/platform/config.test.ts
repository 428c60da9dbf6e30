import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ConfigurationError, configVariables, loadConfig } from './config.ts';

test('defaults apply when the environment is empty', () => {
  const config = loadConfig({});
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
      () => loadConfig({ [name]: value }),
      (error: unknown) =>
        error instanceof ConfigurationError &&
        error.problems.length === 1 &&
        error.problems[0]!.variable === name &&
        error.message.includes(name) &&
        !error.message.includes('\n'),
      name,
    );
  }
});

test('every invalid value is reported at once, one line per variable naming it', () => {
  assert.throws(
    () => loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud', HOST: 'localhost' }),
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
      assert.doesNotMatch(error.message, /\bat\b.*\.ts:\d+/);
      return true;
    },
  );
});

test('variables that must agree are checked together', () => {
  const cases: [Record<string, string>, string][] = [
    [{ ACQUIRER_TIMEOUT_MS: '60000' }, 'IDEMPOTENCY_KEY_LOCK_TIMEOUT_MS'],
    [
      { ACQUIRER_TIMEOUT_MS: '5000', IDEMPOTENCY_KEY_LOCK_TIMEOUT_MS: '4000' },
      'IDEMPOTENCY_KEY_LOCK_TIMEOUT_MS',
    ],
    [{ EVENT_BUS: 'nats' }, 'NATS_URL'],
    [{ EVENT_BUS: 'kafka' }, 'KAFKA_BROKERS'],
  ];
  for (const [env, variable] of cases) {
    assert.throws(
      () => loadConfig(env),
      (error: unknown) =>
        error instanceof ConfigurationError &&
        error.problems.map((problem) => problem.variable).includes(variable),
      JSON.stringify(env),
    );
  }
  assert.equal(
    loadConfig({ ACQUIRER_TIMEOUT_MS: '5000', IDEMPOTENCY_KEY_LOCK_TIMEOUT_MS: '5001' }).acquirerTimeoutMs,
    5000,
  );
  assert.equal(loadConfig({ EVENT_BUS: 'nats', NATS_URL: 'nats://127.0.0.1:4222' }).eventBus, 'nats');
});

test('the README lists every configuration variable with its default', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const spec of Object.values(configVariables)) {
    const row = readme.split('\n').find((line) => line.startsWith(`| \`${spec.name}\` |`));
    assert.ok(row, `README is missing ${spec.name}`);
    if (spec.defaultValue !== undefined)
      assert.ok(row.includes(`\`${spec.defaultValue}\``), `README default of ${spec.name}`);
  }
});
