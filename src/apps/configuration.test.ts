import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ConfigurationError, declareSettings, integer, variable } from '../platform/settings.ts';
import { paymentsSettings } from '../modules/payments/index.ts';
import { eventsSettings } from '../modules/events/index.ts';
import { configurationVariables, loadConfiguration, settingsOwners } from './configuration.ts';
import { modules } from './modules.ts';

function variablesOf(error: unknown): string[] {
  assert.ok(error instanceof ConfigurationError, String(error));
  return error.problems.map((problem) => problem.variable);
}

test('the platform comes first, then every module that declares settings, in the app order', () => {
  const owners = settingsOwners().map(({ owner }) => owner);
  assert.equal(owners[0], 'platform');
  assert.deepEqual(
    owners.slice(1),
    modules.filter((module) => module.manifest.settings).map((module) => module.manifest.name),
  );
  for (const owner of [
    'identity',
    'gateway',
    'vault',
    'events',
    'fraud',
    'payments',
    'notifications',
    'settlement',
  ])
    assert.ok(owners.includes(owner), `${owner} declares its settings`);
});

test("every module's declared variables appear in the composed list once, and no name twice", () => {
  const names = configurationVariables().map((spec) => spec.name);
  assert.equal(new Set(names).size, names.length, 'a variable is declared twice');
  for (const { owner, declaration } of settingsOwners())
    for (const spec of Object.values(declaration.variables))
      assert.equal(names.filter((name) => name === spec.name).length, 1, `${owner}: ${spec.name}`);
  assert.ok(names.length >= 82, `${names.length} variables`);
});

test('a module adds a variable in its own declaration, without touching the platform', () => {
  const widgets = declareSettings({
    widgetLimit: variable('WIDGET_LIMIT', '3', 'Widgets at most.', integer(1, 10)),
  });
  const { settings } = loadConfiguration({ WIDGET_LIMIT: '7' });
  assert.equal(settings(widgets).widgetLimit, 7);
  assert.deepEqual(
    (() => {
      try {
        return loadConfiguration({ WIDGET_LIMIT: '70' }).settings(widgets);
      } catch (error) {
        return variablesOf(error);
      }
    })(),
    ['WIDGET_LIMIT'],
  );
});

test('the start validates every owner at once: one line per bad variable, across modules', () => {
  assert.throws(
    () => loadConfiguration({ PORT: 'eighty', EVENTS_MAX_ATTEMPTS: '0', FRAUD_SCREENING: 'maybe' }),
    (error: unknown) => {
      assert.deepEqual(variablesOf(error), ['PORT', 'EVENTS_MAX_ATTEMPTS', 'FRAUD_SCREENING']);
      assert.equal((error as Error).message.split('\n').length, 3);
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
  for (const [env, name] of cases) {
    assert.throws(
      () => loadConfiguration(env),
      (error: unknown) => variablesOf(error).includes(name),
      JSON.stringify(env),
    );
  }
  const { settings } = loadConfiguration({
    ACQUIRER_TIMEOUT_MS: '5000',
    IDEMPOTENCY_KEY_LOCK_TIMEOUT_MS: '5001',
  });
  assert.equal(settings(paymentsSettings).acquirerTimeoutMs, 5000);
  const nats = loadConfiguration({ EVENT_BUS: 'nats', NATS_URL: 'nats://127.0.0.1:4222' });
  assert.equal(nats.settings(eventsSettings).eventBus, 'nats');
});

test('the README lists every configuration variable with its default, in the composed order', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const lines = readme.split('\n');
  const rows: number[] = [];
  for (const spec of configurationVariables()) {
    const row = lines.findIndex((line) => line.startsWith(`| \`${spec.name}\` |`));
    assert.ok(row >= 0, `README is missing ${spec.name}`);
    if (spec.defaultValue !== undefined)
      assert.ok(lines[row]!.includes(`\`${spec.defaultValue}\``), `README default of ${spec.name}`);
    rows.push(row);
  }
  assert.deepEqual(
    rows,
    [...rows].sort((a, b) => a - b),
    'README rows in the order of npm run docs:config',
  );
});
