// The browser tests' shared pieces: Debian's Chromium through playwright-core (never a download),
// axe-core on a page as it is, screenshots under test-results/, and a dashboard sign-in.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { RunningSimulator } from '../../src/simulator/index.ts';
import { createDashboardUser } from './dashboard.ts';
import { merchantSession, type MerchantSession } from './identity.ts';
import { paymentsEnv, startTestAcquirer } from './payments.ts';
import { repositoryRoot, startTestServer, type TestServer } from './server.ts';

export const chromiumPath = '/usr/bin/chromium';

/** false when Chromium is there, else why the browser tests skip (.ci/run installs it with apt-get). */
export const browserUnavailable: false | string = existsSync(chromiumPath)
  ? false
  : `Chromium is not installed at ${chromiumPath} (apt-get install chromium): the browser tests skip`;

export const screenshotDirectory = path.join(repositoryRoot, 'test-results');

export async function launchBrowser(): Promise<Browser> {
  mkdirSync(screenshotDirectory, { recursive: true });
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
}

export function screenshot(page: Page, name: string): Promise<Buffer> {
  return page.screenshot({ path: path.join(screenshotDirectory, `${name}.png`), fullPage: true });
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core on the page as it is now: no serious or critical violation (contrast, labels, roles…). */
export async function assertAccessible(page: Page, what: string): Promise<void> {
  // Evaluated through the DevTools protocol, so the page's CSP (no eval, no inline) does not apply.
  await page.evaluate(axeSource);
  const violations = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((result) =>
    result.violations
      .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
      .map((violation) => ({ id: violation.id, nodes: violation.nodes.map((node) => node.target.join(' ')) })))`)) as unknown[];
  assert.deepEqual(violations, [], `${what}: axe-core found serious violations`);
}

/** Collects the page's CSP reports from its console; the caller asserts the list stays empty. */
export function collectCspViolations(page: Page): string[] {
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  return violations;
}

/** Signs in on the dashboard's form at the payments address and waits for the payments list. */
export async function signInAs(
  page: Page,
  baseUrl: string,
  user: { readonly email: string; readonly password: string },
): Promise<void> {
  await page.goto(`${baseUrl}/dashboard/payments`);
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Payments', exact: true }).waitFor();
}

/**
 * What every dashboard browser test starts with: the acquirer simulator, a PayFlow on it (real
 * PostgreSQL), one merchant with its API client, and Chromium. `close()` stops them in reverse.
 */
export interface DashboardRig {
  readonly server: TestServer;
  readonly acquirer: RunningSimulator;
  readonly browser: Browser;
  readonly merchant: MerchantSession;
  /** A new dashboard user of the merchant with this role, signed in on a new page. */
  signedInPage(role: 'owner' | 'developer' | 'analyst'): Promise<Page>;
  close(): Promise<void>;
}

export async function startDashboardRig(
  merchantName: string,
  options: { env?: Record<string, string> } = {},
): Promise<DashboardRig> {
  const acquirer = await startTestAcquirer();
  let server: TestServer | undefined;
  try {
    server = await startTestServer({ env: paymentsEnv(acquirer.url, options.env) });
    const merchant = await merchantSession(server, merchantName);
    const browser = await launchBrowser();
    const started = server;
    return {
      server: started,
      acquirer,
      browser,
      merchant,
      async signedInPage(role) {
        const user = await createDashboardUser(started, merchant.merchantId, role);
        const page = await browser.newPage({ locale: 'en-US' });
        await signInAs(page, started.baseUrl, user);
        return page;
      },
      async close() {
        await browser.close();
        await started.close();
        await acquirer.close();
      },
    };
  } catch (error) {
    await server?.close();
    await acquirer.close();
    throw error;
  }
}
