// Test wiring for the vault's database tests: a real migrated database, a temporary data directory
// (so the generated keyring is the test's own), a clock the test moves, and a silent logger.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfiguration } from '../../src/apps/configuration.ts';
import { createLogger } from '../../src/platform/log.ts';
import type { Clock } from '../../src/platform/clock.ts';
import type { PlatformContext } from '../../src/platform/module.ts';
import type { Sql } from '../../src/platform/db/client.ts';

export class MovableClock implements Clock {
  #nowMs: number;
  constructor(start: Date) {
    this.#nowMs = start.getTime();
  }
  now(): Date {
    return new Date(this.#nowMs);
  }
  advanceSeconds(seconds: number): void {
    this.#nowMs += seconds * 1000;
  }
}

export function temporaryDirectory(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'payflow-vault-test-'));
}

export function vaultContext(
  sql: Sql,
  clock: Clock,
  env: Readonly<Record<string, string>> = {},
  dataDir: string = temporaryDirectory(),
): PlatformContext {
  const configuration = loadConfiguration({ PAYFLOW_DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...env });
  return { ...configuration, sql, clock, log: createLogger({ level: 'silent' }) };
}
