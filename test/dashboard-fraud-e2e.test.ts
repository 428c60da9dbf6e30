// The dashboard's fraud page in Chromium against a started PayFlow (real PostgreSQL, the acquirer
// simulator): an owner adds a rule with a syntax error and sees the API's message with the bad token
// marked, adds it right, edits it (a new version) and disables it; approves one payment in the
// review queue and rejects another (voided). An analyst sees the queue and the rules but no actions.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import {
  assertAccessible,
  browserUnavailable,
  collectCspViolations,
  screenshot,
  signInAs,
  startDashboardRig,
  type DashboardRig,
} from './support/browser.ts';
import { createDashboardUser } from './support/dashboard.ts';
import type { MerchantSession } from './support/identity.ts';
import { authorizeBody, call, tokenize } from './support/payments.ts';
import type { TestServer } from './support/server.ts';

if (browserUnavailable) process.stdout.write(`# ${browserUnavailable}\n`);

const reviewCard = '4000000000009235';

describe('dashboard fraud page in Chromium', { skip: browserUnavailable }, () => {
  let rig: DashboardRig;
  let server: TestServer;
  let browser: Browser;
  let merchant: MerchantSession;

  before(async () => {
    rig = await startDashboardRig('Risky Business');
    ({ server, browser, merchant } = rig);
  });
  after(() => rig?.close());

  async function inReview(amount: number): Promise<string> {
    const token = await tokenize(server.baseUrl, merchant, reviewCard);
    const answer = await call(
      server.baseUrl,
      merchant,
      'POST',
      '/payments/authorize',
      authorizeBody(token, amount),
    );
    assert.equal(answer.status, 201, answer.text);
    assert.equal(answer.body['review'], 'pending');
    return answer.body['paymentId'] as string;
  }

  test('an owner writes, edits and disables a rule; a bad rule shows where it is wrong', async () => {
    const owner = await createDashboardUser(server, merchant.merchantId, 'owner');
    const page = await browser.newPage({ locale: 'en-US' });
    const csp = collectCspViolations(page);
    await signInAs(page, server.baseUrl, owner);
    await page.getByRole('link', { name: 'Fraud' }).click();
    await page.getByRole('heading', { name: 'Rules' }).waitFor();

    await page.getByLabel('New rule').fill('block if :amount_in_usd: > and');
    await page.getByRole('button', { name: 'Add rule' }).click();
    const problem = page.getByTestId('rule-problem');
    await problem.waitFor();
    assert.equal(await problem.locator('mark').textContent(), 'and');
    assert.match((await problem.locator('.rule-problem-detail').textContent()) ?? '', /\S/);
    assert.equal(await page.getByLabel('New rule').getAttribute('aria-invalid'), 'true');
    await screenshot(page, 'dashboard-fraud-rule-error');
    await assertAccessible(page, 'rule error');

    await page.getByLabel('New rule').fill('block if :amount_in_usd: > 50000');
    await page.getByLabel('Description (optional)').fill('very large');
    await page.getByRole('button', { name: 'Add rule' }).click();
    const rules = page.getByTestId('rules');
    await rules.getByText('block if :amount_in_usd: > 50000').waitFor();
    assert.match(await rules.locator('li').first().innerText(), /enabled · version 1 · very large/);

    await rules.getByRole('button', { name: /^Edit/ }).click();
    await page.getByLabel('Rule', { exact: true }).fill('block if :amount_in_usd: > 60000');
    await page.getByRole('button', { name: 'Save rule' }).click();
    await rules.getByText('block if :amount_in_usd: > 60000').waitFor();
    await rules.getByRole('button', { name: /^Disable/ }).click();
    await rules.getByText(/disabled · version 3/).waitFor();

    const stored = await call(server.baseUrl, merchant, 'GET', '/fraud/rules');
    const [rule] = stored.body['data'] as { rule: string; enabled: boolean; version: number }[];
    assert.deepEqual(
      { rule: rule?.rule, enabled: rule?.enabled, version: rule?.version },
      { rule: 'block if :amount_in_usd: > 60000', enabled: false, version: 3 },
    );
    assert.deepEqual(csp, []);
    await page.close();
  });

  test('an owner approves one payment in review and rejects another; an analyst only looks', async () => {
    const approved = await inReview(1100);
    const rejected = await inReview(2200);
    const owner = await createDashboardUser(server, merchant.merchantId, 'owner');
    const page = await browser.newPage({ locale: 'en-US' });
    await signInAs(page, server.baseUrl, owner);
    await page.goto(`${server.baseUrl}/dashboard/fraud`);
    const queue = page.getByTestId('reviews');
    await queue.locator(`tr[data-payment-id="${approved}"]`).waitFor();
    assert.match(await queue.locator(`tr[data-payment-id="${rejected}"]`).innerText(), /\$22\.00/);
    await screenshot(page, 'dashboard-fraud');
    await assertAccessible(page, 'fraud page');

    await queue.getByRole('button', { name: `Approve ${approved}` }).click();
    await page.getByTestId('review-notice').getByText(`Approved ${approved}.`).waitFor();
    await queue.locator(`tr[data-payment-id="${approved}"]`).waitFor({ state: 'detached' });
    await queue.getByRole('button', { name: `Reject ${rejected}` }).click();
    await page.getByTestId('review-notice').getByText(`Rejected ${rejected}.`).waitFor();
    await page.getByText('No payment is waiting for a review.').waitFor();

    const first = await call(server.baseUrl, merchant, 'GET', `/payments/${approved}`);
    assert.equal(first.body['review'], 'approved');
    assert.equal(first.body['status'], 'AUTHORIZED');
    const second = await call(server.baseUrl, merchant, 'GET', `/payments/${rejected}`);
    assert.equal(second.body['review'], 'rejected');
    assert.equal(second.body['status'], 'VOIDED');
    await page.close();

    const waiting = await inReview(3300);
    const analyst = await createDashboardUser(server, merchant.merchantId, 'analyst');
    const analystPage = await browser.newPage({ locale: 'en-US' });
    await signInAs(analystPage, server.baseUrl, analyst);
    await analystPage.goto(`${server.baseUrl}/dashboard/fraud`);
    await analystPage.getByTestId('reviews').locator(`tr[data-payment-id="${waiting}"]`).waitFor();
    assert.equal(
      await analystPage.getByRole('button', { name: /^(Approve|Reject|Edit|Disable)/ }).count(),
      0,
    );
    assert.equal(await analystPage.getByLabel('New rule').count(), 0);
    await analystPage.close();
  });
});
