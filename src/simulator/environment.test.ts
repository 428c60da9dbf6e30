import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readSimulatorEnvironment, SimulatorEnvironmentError } from './environment.ts';

test('defaults when nothing is set', () => {
  const { options, logLevel } = readSimulatorEnvironment({});
  assert.deepEqual(options, {
    port: 8090,
    host: '127.0.0.1',
    latencyMs: 0,
    failureRate: 0,
    slowResponseMs: 30_000,
    refundFailureDelayMs: 1_000,
  });
  assert.equal(logLevel, 'info');
});

test('every variable is read', () => {
  const { options } = readSimulatorEnvironment({
    SIMULATOR_PORT: '0',
    SIMULATOR_HOST: '0.0.0.0',
    SIMULATOR_LATENCY_MS: '25',
    SIMULATOR_FAILURE_RATE: '0.25',
    SIMULATOR_NOTIFY_URL: 'http://127.0.0.1:8080/acquirer/notifications',
    SIMULATOR_SLOW_RESPONSE_MS: '300',
  });
  assert.equal(options.port, 0);
  assert.equal(options.host, '0.0.0.0');
  assert.equal(options.latencyMs, 25);
  assert.equal(options.failureRate, 0.25);
  assert.equal(options.notifyUrl, 'http://127.0.0.1:8080/acquirer/notifications');
  assert.equal(options.slowResponseMs, 300);
});

test('invalid values name their variable', () => {
  const invalid: Array<[string, string]> = [
    ['SIMULATOR_PORT', '70000'],
    ['SIMULATOR_PORT', 'eighty'],
    ['SIMULATOR_LATENCY_MS', '-1'],
    ['SIMULATOR_FAILURE_RATE', '1.5'],
    ['SIMULATOR_FAILURE_RATE', 'NaN'],
    ['SIMULATOR_NOTIFY_URL', 'ftp://example.com'],
    ['SIMULATOR_NOTIFY_URL', 'not a url'],
    ['SIMULATOR_LOG_LEVEL', 'loud'],
  ];
  for (const [variable, value] of invalid) {
    assert.throws(
      () => readSimulatorEnvironment({ [variable]: value }),
      (error: unknown) => error instanceof SimulatorEnvironmentError && error.variable === variable,
      `${variable}=${value}`,
    );
  }
});
