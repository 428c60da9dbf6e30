// The dashboard's payment page in Chromium against a started PayFlow (real PostgreSQL, the acquirer
// simulator): an owner opens a payment from the list and sees its amounts, timeline, ledger entries
// and risk decision; captures part of it and refunds part of that, each after a confirmation showing
// the amount (a double click is one operation); voids a JPY authorization; a capture of a payment in
// fraud review is refused and the page says why in words. An analyst gets no actions and the API
// refuses its capture; a capture without the CSRF token is refused; the timeline of another
// merchant's payment is 404. The payments list searches on the server (reference, status and card
// last 4, currency and amount) with the search in the address, and exports what it found as CSV.
// Home shows the balances from GET /balance and the captured volume of the last days as a chart.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import {
  assertAccessible,
  browserUnavailable,
  collectCspViolations,
  screenshot,
  signInAs,
  startDashboardRig,
  type DashboardRig,
} from './support/browser.ts';
import { createDashboardUser, dashboardSession } from './support/dashboard.ts';
import { merchantSession, type MerchantSession } from './support/identity.ts';
import { authorizeBody, call, tokenize } from './support/payments.ts';
import type { TestServer } from './support/server.ts';

if (browserUnavailable) process.stdout.write(`# ${browserUnavailable}\n`);

const reviewCard = '4000000000009235';

describe('dashboard payment page in Chromium', { skip: browserUnavailable }, () => {
  let rig: DashboardRig;
  let server: TestServer;
  let browser: Browser;
  let merchant: MerchantSession;

  before(async () => {
    rig = await startDashboardRig('Page Turners');
    ({ server, browser, merchant } = rig);
  });
  after(() => rig?.close());

  async function authorize(
    amount: number,
    options: { currency?: string; card?: string; extra?: Record<string, unknown> } = {},
  ) {
    const token = await tokenize(server.baseUrl, merchant, options.card);
    const answer = await call(server.baseUrl, merchant, 'POST', '/payments/authorize', {
      ...authorizeBody(token, amount),
      ...(options.currency && { currency: options.currency }),
      ...options.extra,
    });
    assert.equal(answer.status, 201, answer.text);
    return answer.body['paymentId'] as string;
  }

  const ownerPage = (): Promise<Page> => rig.signedInPage('owner');

  const amountsText = async (page: Page) =>
    (await page.getByTestId('amounts').innerText()).replace(/\s+/g, ' ').trim();

  test('an owner reads a payment, captures part of it and refunds part of that', async () => {
    const paymentId = await authorize(5000);
    const page = await ownerPage();
    const csp = collectCspViolations(page);
    await page.locator(`tr[data-payment-id="${paymentId}"]`).getByRole('link', { name: paymentId }).click();
    await page.getByRole('heading', { name: 'Payment', exact: true }).waitFor();
    assert.equal(new URL(page.url()).pathname, `/dashboard/payments/${paymentId}`);
    await page.getByTestId('timeline').locator('li').nth(2).waitFor();
    assert.equal(await page.getByTestId('payment-status').textContent(), 'AUTHORIZED');
    assert.equal(await amountsText(page), 'Authorized $50.00 Captured $0.00 Refunded $0.00');
    assert.match(await page.getByTestId('risk').innerText(), /Decision allow, score \d+ \(normal\)/);
    const timeline = await page.getByTestId('timeline').locator('li span').allTextContents();
    assert.deepEqual(timeline, ['Created $50.00', 'Fraud screening (allow)', 'Authorized $50.00']);
    const ledgerRowsBefore = await page.getByTestId('ledger').locator('tbody tr').count();
    assert.ok(ledgerRowsBefore > 0, 'the authorization hold is in the ledger');
    await screenshot(page, 'dashboard-payment');
    await assertAccessible(page, 'payment page');

    await page.getByRole('button', { name: 'Capture' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Amount to capture (USD)').fill('30.00');
    await dialog.getByRole('button', { name: 'Continue' }).click();
    assert.equal(
      await dialog.getByTestId('action-confirmation').textContent(),
      "Capture $30.00 from the customer's card?",
    );
    await assertAccessible(page, 'capture confirmation');
    await dialog.getByRole('button', { name: 'Confirm capture of $30.00' }).dblclick();
    await page.getByTestId('notice').waitFor();
    assert.equal(await page.getByTestId('notice').textContent(), `Captured $30.00 on ${paymentId}.`);
    await page.getByTestId('payment-status').getByText('CAPTURED').waitFor();
    assert.equal(await amountsText(page), 'Authorized $50.00 Captured $30.00 Refunded $0.00');
    await page.getByTestId('timeline').getByText('Captured $30.00').waitFor();
    const captured = await call(server.baseUrl, merchant, 'GET', `/payments/${paymentId}`);
    assert.equal(captured.body['capturedAmount'], 3000);
    const captureKeys = await server.database.sql`
      select 1 from payments.idempotency_keys where operation = 'capture' and merchant_id = ${merchant.merchantId}`;
    assert.equal(captureKeys.length, 1, 'the double click was one capture');

    await page.getByRole('button', { name: 'Refund' }).click();
    await dialog.getByLabel('Amount to refund (USD)').fill('10');
    await dialog.getByRole('button', { name: 'Continue' }).click();
    await dialog.getByRole('button', { name: 'Confirm refund of $10.00' }).click();
    await page.getByTestId('timeline').getByText('Refunded $10.00').waitFor();
    assert.equal(await amountsText(page), 'Authorized $50.00 Captured $30.00 Refunded $10.00');
    assert.ok((await page.getByTestId('ledger').locator('tbody tr').count()) > ledgerRowsBefore);
    const ledger = (await call(server.baseUrl, merchant, 'GET', `/payments/${paymentId}`)).body[
      'ledgerEntries'
    ] as unknown[];
    assert.equal(await page.getByTestId('ledger').locator('tbody tr').count(), ledger.length);
    assert.deepEqual(csp, []);
    await page.close();
  });

  test('an owner voids a JPY authorization after a confirmation in yen', async () => {
    const paymentId = await authorize(1500, { currency: 'JPY' });
    const page = await ownerPage();
    await page.goto(`${server.baseUrl}/dashboard/payments/${paymentId}`);
    await page.getByTestId('payment-amount').getByText('¥1,500').waitFor();
    await page.getByRole('button', { name: 'Void' }).click();
    const dialog = page.getByRole('dialog');
    assert.equal(
      await dialog.getByTestId('action-confirmation').textContent(),
      'Void the authorization of ¥1,500? The customer is not charged and this cannot be undone.',
    );
    await dialog.getByRole('button', { name: 'Confirm void of ¥1,500' }).click();
    await page.getByTestId('payment-status').getByText('VOIDED').waitFor();
    await page.getByTestId('timeline').getByText('Voided').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Void' }).count(), 0);
    const voided = await call(server.baseUrl, merchant, 'GET', `/payments/${paymentId}`);
    assert.equal(voided.body['status'], 'VOIDED');
    await page.close();
  });

  test('a capture of a payment in fraud review is refused and the page says why', async () => {
    const paymentId = await authorize(2500, { card: reviewCard });
    const page = await ownerPage();
    await page.goto(`${server.baseUrl}/dashboard/payments/${paymentId}`);
    const risk = page.getByTestId('risk');
    await risk.getByText('builtin_elevated_risk').waitFor();
    assert.match(await risk.innerText(), /Decision review, score \d+ \(elevated\).*review pending/s);
    await page.getByRole('button', { name: 'Capture' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Continue' }).click();
    await dialog.getByRole('button', { name: 'Confirm capture of $25.00' }).click();
    await dialog.getByTestId('action-problem').waitFor();
    assert.equal(
      await dialog.getByTestId('action-problem').textContent(),
      'This payment is in fraud review: approve it in the review queue before capturing.',
    );
    await screenshot(page, 'dashboard-payment-review');
    await assertAccessible(page, 'refused capture');
    const payment = await call(server.baseUrl, merchant, 'GET', `/payments/${paymentId}`);
    assert.equal(payment.body['status'], 'AUTHORIZED');
    assert.equal(payment.body['capturedAmount'], 0);
    await page.close();
  });

  test('an analyst gets no actions and the API refuses its capture; no CSRF token, no capture', async () => {
    const paymentId = await authorize(1200);
    const analyst = await createDashboardUser(server, merchant.merchantId, 'analyst');
    const page = await browser.newPage({ locale: 'en-US' });
    await signInAs(page, server.baseUrl, analyst);
    await page.goto(`${server.baseUrl}/dashboard/payments/${paymentId}`);
    await page.getByTestId('timeline').locator('li').first().waitFor();
    assert.equal(await page.locator('.actions button').count(), 0);
    await page.close();

    const analystSession = await dashboardSession(server, analyst.email, analyst.password);
    const refused = await analystSession.fetch(
      'POST',
      `/payments/${paymentId}/capture`,
      {},
      { idempotencyKey: randomUUID() },
    );
    assert.equal(refused.status, 403);
    assert.equal(refused.body['code'], 'insufficient_scope');
    const owner = await createDashboardUser(server, merchant.merchantId, 'owner');
    const ownerSession = await dashboardSession(server, owner.email, owner.password);
    const forged = await ownerSession.fetch(
      'POST',
      `/payments/${paymentId}/capture`,
      {},
      { csrf: false, idempotencyKey: randomUUID() },
    );
    assert.equal(forged.status, 403);
    assert.equal(forged.body['code'], 'csrf_token_invalid');
    const payment = await call(server.baseUrl, merchant, 'GET', `/payments/${paymentId}`);
    assert.equal(payment.body['status'], 'AUTHORIZED');

    const other = await merchantSession(server, 'Someone Else');
    const stranger = await createDashboardUser(server, other.merchantId, 'owner');
    const strangerSession = await dashboardSession(server, stranger.email, stranger.password);
    const foreign = await strangerSession.fetch('GET', `/payments/${paymentId}/timeline`);
    assert.equal(foreign.status, 404);
    assert.equal(foreign.body['code'], 'payment_not_found');
  });

  test('an owner searches payments on the server and exports what it found as CSV', async () => {
    const ordered = await authorize(1200, { extra: { metadata: { orderId: 'ord-e2e-1' } } });
    const captured = await authorize(9999, { card: '5555555555554444', extra: { capture: true } });
    const page = await ownerPage();
    const rows = page.locator('tbody tr');
    const search = async () => {
      await page.getByRole('button', { name: 'Search' }).click();
      await page
        .locator('tbody tr, .search-problem, main p:has-text("No payment matches")')
        .first()
        .waitFor();
    };
    const listed = async () =>
      rows.evaluateAll((items) => items.map((item) => item.getAttribute('data-payment-id')));

    await page.getByLabel('Reference or payment id').fill('ord-e2e-1');
    await search();
    assert.match(page.url(), /\/dashboard\/payments\?reference=ord-e2e-1$/);
    assert.deepEqual(await listed(), [ordered]);

    await page.getByRole('link', { name: 'Clear' }).click();
    await page.getByLabel('Status').selectOption('CAPTURED');
    await page.getByLabel('Card last 4').fill('4444');
    await search();
    assert.deepEqual(await listed(), [captured]);
    await screenshot(page, 'dashboard-payments-search');
    await assertAccessible(page, 'payments search');

    await page.getByRole('link', { name: 'Clear' }).click();
    await page.getByLabel('Amount from').fill('99.99');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('alert').getByText('Pick a currency to search by amount.').waitFor();
    await page.getByLabel('Currency').selectOption('USD');
    await page.getByLabel('Amount to').fill('99.99');
    await search();
    assert.deepEqual(await listed(), [captured]);
    // A reload keeps the search: it is in the address.
    await page.reload();
    await rows.first().waitFor();
    assert.equal(await page.getByLabel('Amount from').inputValue(), '99.99');
    assert.deepEqual(await listed(), [captured]);

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Export these payments as CSV' }).click(),
    ]);
    const csv = await readFile(await download.path(), 'utf8');
    const lines = csv.trimEnd().split('\r\n');
    assert.equal(lines.length, 2, csv);
    assert.match(lines[0]!, /^payment_id,created_at,status,/);
    assert.match(
      lines[1]!,
      new RegExp(`^${captured},[^,]+,CAPTURED,card,mastercard,4444,USD,99\\.99,99\\.99,99\\.99,0\\.00,`),
    );
    assert.ok(!csv.includes('5555555555554444'));
    await page.close();
  });

  test('home shows the balances and a chart of the captured volume per currency', async () => {
    const shop = await merchantSession(server, 'Home Bakery');
    const sale = async (amount: number, extra: Record<string, unknown>) => {
      const token = await tokenize(server.baseUrl, shop);
      const answer = await call(server.baseUrl, shop, 'POST', '/payments/authorize', {
        ...authorizeBody(token, amount),
        ...extra,
      });
      assert.equal(answer.status, 201, answer.text);
    };
    await sale(4200, { capture: true });
    await sale(1000, {});
    await sale(1500, { capture: true, currency: 'JPY' });
    const owner = await createDashboardUser(server, shop.merchantId, 'owner');
    const page = await browser.newPage({ locale: 'en-US' });
    await page.goto(`${server.baseUrl}/dashboard`);
    await page.getByLabel('Email').fill(owner.email);
    await page.getByLabel('Password').fill(owner.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Home' }).waitFor();
    const balances = page.getByTestId('balances');
    await balances.waitFor();
    const rows = (await balances.locator('tbody tr').allInnerTexts()).map((row) => row.split('\t'));
    assert.deepEqual(rows, [
      ['JPY', '¥1,500', '¥0', '¥0', '¥0'],
      ['USD', '$42.00', '$0.00', '$0.00', '$10.00'],
    ]);
    const usd = page.getByTestId('volume-USD');
    await usd.waitFor();
    assert.equal(await usd.locator('figcaption').textContent(), 'USD: $42.00 captured from 30 days');
    assert.equal(
      await page.getByTestId('volume-JPY').locator('figcaption').textContent(),
      'JPY: ¥1,500 captured from 30 days',
    );
    assert.equal(await usd.locator('rect.bar').count(), 30);
    assert.equal(
      await page.getByTestId('payments-USD').locator('figcaption').textContent(),
      'USD: 2 payments',
    );
    assert.equal(
      await page.getByTestId('approval-USD').locator('figcaption').textContent(),
      'USD: approval rate 100 %',
    );
    assert.equal(
      await page.getByTestId('refunds-USD').locator('figcaption').textContent(),
      'USD: $0.00 refunded',
    );
    const usdFigures = page.getByTestId('figures-USD');
    await page.locator('details', { has: usdFigures }).locator('summary').click();
    const today = new Date().toISOString().slice(0, 10);
    assert.deepEqual((await usdFigures.locator('tbody tr').last().innerText()).split('\t'), [
      today,
      '2',
      '100 %',
      '$42.00',
      '$0.00',
    ]);
    await screenshot(page, 'dashboard-home');
    await assertAccessible(page, 'home');
    await page.getByRole('link', { name: 'Payments' }).click();
    await page.getByRole('heading', { name: 'Payments', exact: true }).waitFor();
    await page.close();
  });
});
