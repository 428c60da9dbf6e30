// The database a bench runs on: DATABASE_URL when given, else an embedded PostgreSQL of its own with
// the settings `npm start` uses (in a temporary directory, on a free port), as a new user has it.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/platform/db/embedded.ts';
import { createLogger } from '../src/platform/log.ts';
import { freePort } from '../src/platform/ports.ts';

export interface BenchDatabase {
  readonly url: string;
  readonly embedded?: EmbeddedDatabase;
  readonly dataDir?: string;
  close(): Promise<void>;
}

export async function openBenchDatabase(
  url: string | undefined,
  settings: readonly string[] = [],
): Promise<BenchDatabase> {
  if (url) return { url, close: async () => undefined };
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'payflow-bench-'));
  chmodSync(dataDir, 0o755);
  const embedded = await startEmbeddedPostgres({
    dataDir,
    port: await freePort(),
    log: createLogger({ level: 'warn', name: 'bench' }),
    mode: 'exclusive',
    settings,
  });
  return {
    url: embedded.url,
    embedded,
    dataDir,
    close: async () => {
      await embedded.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
