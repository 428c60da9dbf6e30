// On the first start of a fresh database, create a demo merchant so the README's curl tour works:
// print its credentials and write them to `<data dir>/demo-credentials.json` (mode 0600).
// Phases: decide (config, any merchant yet?) → create the merchant → write the file.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Sql } from '../../../platform/db/client.ts';
import type { Clock } from '../../../platform/clock.ts';
import { createMerchant, type MerchantCredentials } from './create-merchant.ts';
import { createDashboardUser } from './dashboard-users.ts';

export const demoCredentialsFileName = 'demo-credentials.json';
export const demoMerchantName = 'Demo merchant';
/** A contact address that goes nowhere real: with SMTP_URL unset, its notices are only logged. */
export const demoMerchantEmail = 'demo@payflow.local';

export interface DemoMerchantOptions {
  readonly mode: 'auto' | 'true' | 'false';
  readonly embeddedDatabase: boolean;
  readonly dataDir: string;
}

/** Creates the demo merchant when wanted and no merchant exists yet; returns where it was written. */
export async function ensureDemoMerchant(
  dependencies: { sql: Sql; clock: Clock },
  options: DemoMerchantOptions,
): Promise<{ credentials: MerchantCredentials; file: string } | undefined> {
  const wanted = options.mode === 'true' || (options.mode === 'auto' && options.embeddedDatabase);
  if (!wanted) return undefined;
  // Serialize concurrent first starts (several processes on one database).
  return dependencies.sql.begin(async (transaction) => {
    await transaction`select pg_advisory_xact_lock(7310200100)`;
    const [existing] = await transaction`select 1 from identity.merchants limit 1`;
    if (existing) return undefined;
    const credentials = await createMerchant(
      { sql: dependencies.sql, clock: dependencies.clock },
      demoMerchantName,
      { email: demoMerchantEmail },
    );
    await mkdir(options.dataDir, { recursive: true });
    const file = path.join(options.dataDir, demoCredentialsFileName);
    await writeFile(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
    await chmod(file, 0o600);
    return { credentials, file };
  });
}

export const demoDashboardEmail = 'demo@payflow.local';

/**
 * Gives the demo merchant a dashboard owner (also on data directories made before dashboards
 * existed): its email and generated password join the credentials file. Returns them when created.
 * Phases: read the file → any user with the demo email yet? → create → rewrite the file (0600).
 */
export async function ensureDemoDashboardUser(
  dependencies: { sql: Sql; clock: Clock },
  options: DemoMerchantOptions,
): Promise<{ email: string; password: string; file: string } | undefined> {
  const wanted = options.mode === 'true' || (options.mode === 'auto' && options.embeddedDatabase);
  if (!wanted) return undefined;
  const file = path.join(options.dataDir, demoCredentialsFileName);
  let stored: Record<string, unknown>;
  try {
    stored = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined; // no demo merchant written by this data directory
  }
  const merchantId = stored['merchantId'];
  if (typeof merchantId !== 'string' || stored['dashboardPassword'] !== undefined) return undefined;
  const [existing] = await dependencies.sql`
    select 1 from identity.dashboard_users where email = ${demoDashboardEmail}`;
  if (existing) return undefined;
  const user = await createDashboardUser(dependencies, {
    merchantId,
    email: demoDashboardEmail,
    role: 'owner',
  });
  const updated = { ...stored, dashboardEmail: user.email, dashboardPassword: user.password };
  await writeFile(file, `${JSON.stringify(updated, null, 2)}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return { email: user.email, password: user.password, file };
}
