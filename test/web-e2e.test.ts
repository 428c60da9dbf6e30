// The web app in a real browser (playwright-core driving Debian's Chromium at /usr/bin/chromium; it
// never downloads one). A payer opens a hosted checkout page, sees the merchant and the amount, a
// declined card is explained in plain words, another card pays and the page returns to the shop's
// success URL; the card number travels only to POST /v1/tokens and the strict CSP reports nothing.
// Skips, saying why, when Chromium is not installed (.ci/run installs it with apt-get).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import type { RunningSimulator } from '../src/simulator/index.ts';
import {
  assertAccessible,
  browserUnavailable as unavailable,
  launchBrowser,
  screenshotDirectory as screenshots,
  signInAs as signInWith,
} from './support/browser.ts';
import { createDashboardUser } from './support/dashboard.ts';
import { merchantSession, type MerchantSession } from './support/identity.ts';
import { authorizeBody, call, paymentsEnv, startTestAcquirer, tokenize } from './support/payments.ts';
import { startTestServer, type TestServer } from './support/server.ts';

if (unavailable) process.stdout.write(`# ${unavailable}\n`);

const declinedCard = '4000000000000002';
const approvedCard = '4242424242424242';

describe('web app in Chromium', { skip: unavailable }, () => {
  let server: TestServer;
  let acquirer: RunningSimulator;
  let browser: Browser;
  let merchant: MerchantSession;
  let shop: http.Server;
  let shopUrl: string;

  before(async () => {
    acquirer = await startTestAcquirer();
    server = await startTestServer({ env: paymentsEnv(acquirer.url) });
    merchant = await merchantSession(server, 'Bean There Coffee');
    // The merchant's shop: where the checkout sends the payer back.
    shop = http.createServer((request, response) => {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(`<!doctype html><title>Shop</title><h1>Thank you</h1><p>${request.url ?? ''}</p>`);
    });
    await new Promise<void>((resolve) => shop.listen(0, '127.0.0.1', resolve));
    shopUrl = `http://127.0.0.1:${(shop.address() as AddressInfo).port}`;
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await new Promise((resolve) => shop?.close(resolve));
    await server?.close();
    await acquirer?.close();
  });

  async function createSession(amount: number, currency: string) {
    const answer = await call(server.baseUrl, merchant, 'POST', '/checkout/sessions', {
      amount,
      currency,
      description: 'A bag of single-origin beans',
      successUrl: `${shopUrl}/thanks`,
      cancelUrl: `${shopUrl}/cart`,
    });
    assert.equal(answer.status, 201, answer.text);
    return answer.body as { id: string; url: string };
  }

  test('a payer is declined, tries another card, pays, and returns to the shop', async () => {
    const session = await createSession(2599, 'USD');
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    const cspViolations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    const cardCarriers: string[] = [];
    page.on('request', (request) => {
      if ((request.postData() ?? '').includes(approvedCard) || request.url().includes(approvedCard))
        cardCarriers.push(`${request.method()} ${new URL(request.url()).pathname}`);
    });

    await page.goto(session.url);
    await page.getByTestId('amount').waitFor();
    assert.equal(await page.getByTestId('merchant-name').textContent(), 'Bean There Coffee');
    assert.equal(await page.getByTestId('amount').textContent(), '$25.99');
    await assertAccessible(page, 'checkout');

    await page.getByLabel('Card number').fill(declinedCard);
    assert.equal(await page.getByTestId('card-brand').textContent(), 'Visa');
    await page.getByLabel('Expiry (MM/YY)').fill('12/34');
    await page.getByLabel('Security code (CVC)').fill('123');
    await page.getByLabel('Name on card (optional)').fill('Ada Payer');
    await page.screenshot({ path: path.join(screenshots, 'checkout.png'), fullPage: true });
    await page.getByRole('button', { name: 'Pay $25.99' }).click();
    const problem = page.getByTestId('problem');
    await problem.waitFor();
    assert.equal(await problem.textContent(), 'Your card was declined. Please use another card.');
    await page.screenshot({ path: path.join(screenshots, 'checkout-declined.png'), fullPage: true });
    await assertAccessible(page, 'checkout after a decline');
    // The form is empty again for another card.
    assert.equal(await page.getByLabel('Card number').inputValue(), '');

    await page.getByLabel('Card number').fill(approvedCard);
    await page.getByLabel('Expiry (MM/YY)').fill('12/34');
    await page.getByLabel('Security code (CVC)').fill('123');
    await Promise.all([
      page.waitForURL(`${shopUrl}/thanks?session_id=${session.id}`),
      page.getByRole('button', { name: 'Pay $25.99' }).click(),
    ]);
    assert.equal(await page.locator('h1').textContent(), 'Thank you');

    const read = await call(server.baseUrl, merchant, 'GET', `/checkout/sessions/${session.id}`);
    assert.equal(read.body['status'], 'completed');
    const payment = await call(
      server.baseUrl,
      merchant,
      'GET',
      `/payments/${read.body['paymentId'] as string}`,
    );
    assert.equal(payment.body['status'], 'CAPTURED');
    assert.deepEqual(cardCarriers, ['POST /v1/tokens'], 'the card number went to POST /v1/tokens only');
    assert.deepEqual(cspViolations, []);
    await context.close();
  });

  test('amounts show in the currency’s own format; a bad number is caught as the payer types', async () => {
    const session = await createSession(1500, 'JPY');
    const page = await browser.newPage({ locale: 'en-US' });
    await page.goto(session.url);
    await page.getByTestId('amount').waitFor();
    assert.equal(await page.getByTestId('amount').textContent(), '¥1,500');
    await page.getByLabel('Card number').fill('4242424242424241');
    await page.getByLabel('Expiry (MM/YY)').fill('12/34');
    await page.getByLabel('Security code (CVC)').fill('123');
    await page.getByRole('button', { name: 'Pay ¥1,500' }).click();
    await page.getByText('Enter a valid card number.').waitFor();
    assert.equal(await page.getByLabel('Card number').getAttribute('aria-invalid'), 'true');
    await page.close();
  });

  test('an unknown session says so in words', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.baseUrl}/checkout/cs_00000000000000000000000000`);
    await page.getByRole('alert').waitFor();
    assert.match((await page.getByRole('alert').textContent()) ?? '', /does not exist/);
    await page.close();
  });

  const signInAs = (page: Page, user: { email: string; password: string }) =>
    signInWith(page, server.baseUrl, user);

  test('a merchant signs in, finds a payment by its last 4, refunds part of it after a confirmation', async () => {
    const token = await tokenize(server.baseUrl, merchant, '5555555555554444');
    const sale = await call(
      server.baseUrl,
      merchant,
      'POST',
      '/payments/authorize',
      authorizeBody(token, 4200, { capture: true }),
    );
    assert.equal(sale.status, 201, sale.text);
    const paymentId = sale.body['paymentId'] as string;
    const owner = await createDashboardUser(server, merchant.merchantId, 'owner');
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    const cspViolations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    await page.goto(`${server.baseUrl}/dashboard`);
    await page.getByLabel('Password').waitFor();
    await page.screenshot({ path: path.join(screenshots, 'dashboard-sign-in.png'), fullPage: true });
    await assertAccessible(page, 'dashboard sign-in');
    await signInAs(page, owner);
    const cookies = await context.cookies();
    const sessionCookie = cookies.find((cookie) => cookie.name === 'payflow_session');
    assert.equal(sessionCookie?.httpOnly, true);
    assert.equal(sessionCookie?.sameSite, 'Strict');
    assert.equal(await page.evaluate('document.cookie'), '', 'the page cannot read the session cookie');

    const row = page.locator(`tr[data-payment-id="${paymentId}"]`);
    await row.getByText('mastercard •••• 4444').waitFor();
    await page.getByLabel('Card last 4').fill('4444');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/last4=4444/);
    await page.locator('tbody tr').first().waitFor();
    assert.equal(await page.locator('tbody tr').count(), 1, 'only the payment paid with •••• 4444');
    assert.match((await row.textContent()) ?? '', /\$42\.00/);
    await page.screenshot({ path: path.join(screenshots, 'dashboard-payments.png'), fullPage: true });
    await assertAccessible(page, 'dashboard payments');
    await row.getByRole('button', { name: /Refund/ }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Amount to refund (USD)').fill('12.50');
    await dialog.getByRole('button', { name: 'Continue' }).click();
    assert.equal(
      await dialog.getByTestId('action-confirmation').textContent(),
      'Refund $12.50 to the customer? This cannot be undone.',
    );
    await page.screenshot({ path: path.join(screenshots, 'dashboard-refund.png'), fullPage: true });
    await assertAccessible(page, 'refund confirmation');
    // A double click on the confirmation is one refund: one Idempotency-Key per dialog.
    await dialog.getByRole('button', { name: 'Confirm refund of $12.50' }).dblclick();
    await page.getByTestId('notice').waitFor();
    assert.equal(await page.getByTestId('notice').textContent(), `Refunded $12.50 on ${paymentId}.`);
    await row.getByText('PARTIALLY_REFUNDED').waitFor();
    const payment = await call(server.baseUrl, merchant, 'GET', `/payments/${paymentId}`);
    assert.equal(payment.body['refundedAmount'], 1250);
    const refunds = await server.database.sql`select 1 from payments.refunds where payment_id = ${paymentId}`;
    assert.equal(refunds.length, 1, 'one refund for the double click');
    assert.deepEqual(cspViolations, []);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Password').waitFor();
    await context.close();
  });

  test('an analyst sees payments and no refund action; wrong passwords are explained', async () => {
    const analyst = await createDashboardUser(server, merchant.merchantId, 'analyst');
    const page = await browser.newPage({ locale: 'en-US' });
    await page.goto(`${server.baseUrl}/dashboard/payments`);
    await page.getByLabel('Email').fill(analyst.email);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    assert.equal(await page.getByRole('alert').textContent(), 'The email or password is not right.');
    await page.getByLabel('Password').fill(analyst.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Payments' }).waitFor();
    await page.locator('tbody tr').first().waitFor();
    assert.equal(await page.getByRole('button', { name: /^Refund/ }).count(), 0);
    await page.close();
  });
});
