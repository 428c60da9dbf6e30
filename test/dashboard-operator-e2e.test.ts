// The operator view (ADR 32) in Chromium against a started PayFlow (real PostgreSQL, the acquirer
// simulator): an operator signs in on the same form as merchants, creates a merchant (its client
// secret shown once), sees a dead-lettered event and replays it, resolves a payment whose acquirer
// outcome stayed unknown past the whole inquiry schedule (ADR 34), runs a day's settlement through the
// API and sees the job on the Jobs page, and every operator page passes axe-core, also at a phone's
// width. A merchant owner who types an operator address sees the API's refusal, no operator data.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import {
  assertAccessible,
  browserUnavailable,
  collectCspViolations,
  screenshot,
  startDashboardRig,
  type DashboardRig,
} from './support/browser.ts';
import { createOperatorUser, dashboardSession, deadLetterOf } from './support/dashboard.ts';
import { eventually } from './support/eventually.ts';
import { authorizeBody, call, tokenize } from './support/payments.ts';

if (browserUnavailable) process.stdout.write(`# ${browserUnavailable}\n`);

describe('dashboard operator view in Chromium', { skip: browserUnavailable }, () => {
  let rig: DashboardRig;
  let operatorPage: Page;
  let paymentId: string;

  before(async () => {
    rig = await startDashboardRig('Watched Shop');
    const token = await tokenize(rig.server.baseUrl, rig.merchant);
    const sale = await call(
      rig.server.baseUrl,
      rig.merchant,
      'POST',
      '/payments/authorize',
      authorizeBody(token, 1200),
    );
    assert.equal(sale.status, 201, sale.text);
    paymentId = sale.body['paymentId'] as string;
  });
  after(() => rig?.close());

  async function signInOperator(): Promise<Page> {
    const user = await createOperatorUser(rig.server);
    const page = await rig.browser.newPage({ locale: 'en-US' });
    await page.goto(`${rig.server.baseUrl}/dashboard`);
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Merchants', exact: true }).waitFor();
    return page;
  }

  test('an operator signs in and creates a merchant; its client secret is shown once', async () => {
    operatorPage = await signInOperator();
    const page = operatorPage;
    const csp = collectCspViolations(page);
    // The merchant made by the rig is listed; the merchant sections are not offered.
    await page.locator(`tr[data-merchant-id="${rig.merchant.merchantId}"]`).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Payments', exact: true }).count(), 0);

    await page.getByLabel('Name of the new merchant').fill('Fresh Bakery');
    await page.getByLabel('Contact email (optional)').fill('owner@fresh.example');
    await page.getByRole('button', { name: 'Create merchant' }).click();
    const panel = page.getByTestId('secret-panel');
    await panel.waitFor();
    const clientId = (await panel.getByTestId('secret-id').textContent()) ?? '';
    const secret = (await panel.getByTestId('secret-value').textContent()) ?? '';
    assert.match(clientId, /^cli_/);
    assert.ok(secret.length >= 20);
    const row = page.locator('tr[data-status="active"]', { hasText: 'Fresh Bakery' });
    await row.waitFor();
    await screenshot(page, 'dashboard-operator-merchants');
    await assertAccessible(page, 'operator merchants page');
    await panel.getByRole('button', { name: 'I have copied it' }).click();
    await panel.waitFor({ state: 'detached' });
    assert.equal((await page.content()).includes(secret), false);
    assert.deepEqual(csp, []);
  });

  test('an operator sees a dead-lettered event and replays it', async () => {
    const letter = await deadLetterOf(rig.server, paymentId);
    const page = operatorPage;
    await page.getByRole('link', { name: 'Dead letters' }).click();
    await page.getByRole('heading', { name: 'Dead-lettered events' }).waitFor();
    const row = page.locator(`tr[data-dead-letter-id="${letter.id}"]`);
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /ECONNREFUSED/);
    await assertAccessible(page, 'operator dead letters page');
    await screenshot(page, 'dashboard-operator-dead-letters');
    await row.getByRole('button', { name: /Replay/ }).click();
    await page.getByTestId('replay-notice').waitFor();
    await row.waitFor({ state: 'detached' });
    const [stored] = await rig.server.database.sql<{ replayed: boolean }[]>`
      select replayed_at is not null as replayed from events.dead_letters where id = ${letter.id}`;
    assert.equal(stored?.replayed, true);
  });

  test('an operator resolves a payment the acquirer approved but never confirmed: it leaves the list, AUTHORIZED', async () => {
    const token = await tokenize(rig.server.baseUrl, rig.merchant);
    // The acquirer approves, then answers 500; then it answers no inquiry until the schedule ran out.
    rig.acquirer.configureFaults({ errorAfterDecisionRate: 1 });
    const first = await call(
      rig.server.baseUrl,
      rig.merchant,
      'POST',
      '/payments/authorize',
      authorizeBody(token),
    );
    rig.acquirer.configureFaults({ errorAfterDecisionRate: 0, failureRate: 1 });
    assert.equal(first.status, 202, first.text);
    const pending = first.body['paymentId'] as string;
    const ops = await dashboardSession(rig.server, ...(await operatorCredentials()));
    await eventually(`${pending} waits for an operator`, async () => {
      const listed = await ops.fetch('GET', '/v1/admin/payments/unresolved');
      const data = (listed.body as { data?: { paymentId: string }[] }).data ?? [];
      return data.some((item) => item.paymentId === pending) ? true : undefined;
    });
    rig.acquirer.configureFaults({ failureRate: 0 });
    const page = operatorPage;
    await page.getByRole('link', { name: 'Unresolved payments' }).click();
    await page.getByRole('heading', { name: 'Unresolved payments', exact: true }).waitFor();
    const row = page.locator(`tr[data-resource-id="${pending}"]`);
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /authorize/);
    await assertAccessible(page, 'operator unresolved payments page');
    await screenshot(page, 'dashboard-operator-unresolved');
    await row.getByRole('button', { name: /Resolve/ }).click();
    const notice = page.getByTestId('resolve-notice');
    await notice.waitFor();
    assert.match((await notice.textContent()) ?? '', /AUTHORIZED/);
    await row.waitFor({ state: 'detached' });
    const payment = await call(rig.server.baseUrl, rig.merchant, 'GET', `/payments/${pending}`);
    assert.equal(payment.body['status'], 'AUTHORIZED');
  });

  test('an operator sees a job with its progress, and the other operator pages pass axe-core', async () => {
    const page = operatorPage;
    const date = new Date().toISOString().slice(0, 10);
    const ops = await dashboardSession(rig.server, ...(await operatorCredentials()));
    const run = await ops.fetch('POST', '/v1/admin/settlement/runs', { date });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    await page.getByRole('link', { name: 'Jobs' }).click();
    await page.getByRole('heading', { name: 'Jobs', exact: true }).waitFor();
    const job = page.locator('tr[data-status="completed"]', { hasText: `:${date}` });
    await job.waitFor();
    assert.match((await job.textContent()) ?? '', /settlement/);
    await assertAccessible(page, 'operator jobs page');
    await screenshot(page, 'dashboard-operator-jobs');
    await page.getByRole('link', { name: 'API clients', exact: true }).click();
    await page.getByRole('heading', { name: 'API clients', exact: true }).waitFor();
    await page.locator(`tr[data-client-id="${rig.merchant.clientId}"]`).waitFor();
    await assertAccessible(page, 'operator API clients page');
    await page.getByRole('link', { name: 'Reconciliation', exact: true }).click();
    await page.getByRole('heading', { name: 'Reconciliation exceptions', exact: true }).waitFor();
    await page.getByText('No open exception.').waitFor();
    await assertAccessible(page, 'operator reconciliation page');
    // A phone's width: still usable, still accessible.
    await page.setViewportSize({ width: 375, height: 740 });
    await page.getByRole('link', { name: 'Merchants' }).click();
    await page.getByRole('heading', { name: 'Merchants', exact: true }).waitFor();
    await assertAccessible(page, 'operator merchants page at 375 px');
    const overflow = (await page.evaluate(
      'document.documentElement.scrollWidth - window.innerWidth',
    )) as number;
    assert.ok(overflow <= 1, `the page is ${overflow} px wider than a phone`);
  });

  test('a merchant owner cannot reach the operator pages: the API refuses and no operator data shows', async () => {
    const page = await rig.signedInPage('owner');
    assert.equal(await page.getByRole('link', { name: 'Merchants' }).count(), 0);
    for (const path of ['merchants', 'events', 'unresolved', 'jobs']) {
      await page.goto(`${rig.server.baseUrl}/dashboard/operator/${path}`);
      await page.getByRole('alert').waitFor();
      assert.match((await page.getByRole('alert').textContent()) ?? '', /Your role cannot do this/);
      assert.equal(await page.locator('table').count(), 0, path);
    }
    const refused = (await page.evaluate(
      "fetch('/v1/admin/merchants').then((r) => ({ status: r.status, type: r.headers.get('content-type') }))",
    )) as { status: number; type: string | null };
    assert.equal(refused.status, 403);
    assert.match(refused.type ?? '', /^application\/problem\+json/);
  });

  let operatorUser: { email: string; password: string } | undefined;
  async function operatorCredentials(): Promise<[string, string]> {
    operatorUser ??= await createOperatorUser(rig.server);
    return [operatorUser.email, operatorUser.password];
  }
});
