// The dashboard's Developers page in Chromium against a started PayFlow (real PostgreSQL, the acquirer
// simulator, a real HTTP receiver for webhooks): a developer creates an API client and sees its
// secret once (the secret gets a token; after closing the panel it is nowhere on the page), rotates
// it (the old secret is refused) and disables the client; adds a webhook endpoint (its signing secret
// shown once), sees a payment's delivery with status and response code, and resends it (the
// receiver gets the same webhook-id again); disables the endpoint. A payment's page lists the
// deliveries of its events and resends one. An analyst sees the clients but no
// buttons, and the API refuses its create with 403 problem+json; a merchant's bearer token cannot
// create clients either; another merchant's client is 404. The recent API requests list the page's
// own calls. axe-core runs on the page.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import {
  assertAccessible,
  browserUnavailable,
  collectCspViolations,
  screenshot,
  startDashboardRig,
  type DashboardRig,
} from './support/browser.ts';
import { createDashboardUser, dashboardSession } from './support/dashboard.ts';
import { eventually } from './support/eventually.ts';
import { fetchToken, merchantSession } from './support/identity.ts';
import { authorizeBody, call, tokenize } from './support/payments.ts';

if (browserUnavailable) process.stdout.write(`# ${browserUnavailable}\n`);

interface Received {
  readonly path: string;
  readonly webhookId: string;
  readonly type: string;
  readonly paymentId: string | undefined;
}

describe('dashboard developers page in Chromium', { skip: browserUnavailable }, () => {
  let rig: DashboardRig;
  let receiver: http.Server;
  let receiverUrl: string;
  const received: Received[] = [];

  before(async () => {
    receiver = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        const envelope = JSON.parse(body) as { type: string; payload: { paymentId?: string } };
        received.push({
          path: request.url ?? '',
          webhookId: String(request.headers['webhook-id']),
          type: envelope.type,
          paymentId: envelope.payload.paymentId,
        });
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    rig = await startDashboardRig('Hook Line', {
      env: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_SCHEDULE: '1s,2s' },
    });
  });
  after(async () => {
    await rig?.close();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  async function developersPage(role: 'developer' | 'analyst'): Promise<Page> {
    const page = await rig.signedInPage(role);
    await page.getByRole('link', { name: 'Developers' }).click();
    await page.getByRole('heading', { name: 'Developers', exact: true }).waitFor();
    return page;
  }

  async function shownSecret(page: Page): Promise<{ id: string; secret: string }> {
    const panel = page.getByTestId('secret-panel');
    await panel.waitFor();
    const id = (await panel.getByTestId('secret-id').textContent()) ?? '';
    const secret = (await panel.getByTestId('secret-value').textContent()) ?? '';
    await panel.getByRole('button', { name: 'I have copied it' }).click();
    await panel.waitFor({ state: 'detached' });
    return { id, secret };
  }

  test('a developer creates, rotates and disables an API client; the secret is shown once', async () => {
    const page = await developersPage('developer');
    const csp = collectCspViolations(page);
    assert.match((await page.getByTestId('publishable-key').textContent()) ?? '', /^pk_/);

    await page.getByLabel('Description of the new client (optional)').fill('order service');
    await page.getByRole('button', { name: 'Create API client' }).click();
    await page.getByTestId('secret-panel').waitFor();
    await screenshot(page, 'dashboard-developers-secret');
    const created = await shownSecret(page);
    assert.match(created.id, /^cli_/);
    assert.ok(created.secret.length >= 20);
    // The secret is real: it gets a token.
    await fetchToken(rig.server.baseUrl, created.id, created.secret);
    // And it is gone from the page once the panel is closed, even after a reload.
    const row = page.locator(`tr[data-client-id="${created.id}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute('data-status'), 'active');
    assert.match((await row.textContent()) ?? '', /order service/);
    await page.reload();
    await row.waitFor();
    assert.equal((await page.content()).includes(created.secret), false);

    await row.getByRole('button', { name: /Rotate secret/ }).click();
    const rotated = await shownSecret(page);
    assert.equal(rotated.id, created.id);
    assert.notEqual(rotated.secret, created.secret);
    await fetchToken(rig.server.baseUrl, created.id, rotated.secret);
    await assert.rejects(fetchToken(rig.server.baseUrl, created.id, created.secret), /failed with 401/);

    await row.getByRole('button', { name: /Disable/ }).click();
    await page.locator(`tr[data-client-id="${created.id}"][data-status="disabled"]`).waitFor();
    await assert.rejects(fetchToken(rig.server.baseUrl, created.id, rotated.secret), /failed with/);
    await assertAccessible(page, 'developers page (clients)');
    // The recent API requests (ADR 32) list this page's own calls, e.g. the client's disable.
    await page
      .locator('[data-testid="request-log"] tr', { hasText: `/dashboard/api/clients/${created.id}/disable` })
      .first()
      .waitFor({ timeout: 20_000 });
    await assertAccessible(page, 'developers page (request log)');
    await screenshot(page, 'dashboard-developers-request-log');
    assert.deepEqual(csp, []);
    await page.close();
  });

  test('a developer adds a webhook endpoint, sees a payment delivered and resends it', async () => {
    const page = await developersPage('developer');
    const csp = collectCspViolations(page);
    await page.getByLabel('Endpoint URL').fill(receiverUrl);
    await page.getByLabel('payment.authorized.v1').check();
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const signing = await shownSecret(page);
    assert.match(signing.id, /^we_/);
    assert.match(signing.secret, /^whsec_/);
    const endpoint = page.locator(`li[data-endpoint-id="${signing.id}"]`);
    await endpoint.waitFor();

    const token = await tokenize(rig.server.baseUrl, rig.merchant);
    const authorized = await call(
      rig.server.baseUrl,
      rig.merchant,
      'POST',
      '/payments/authorize',
      authorizeBody(token, 1234),
    );
    assert.equal(authorized.status, 201, authorized.text);
    const paymentId = authorized.body['paymentId'] as string;
    const first = await eventually('the receiver gets the payment.authorized.v1 delivery', () =>
      received.find((item) => item.paymentId === paymentId),
    );
    assert.equal(first.type, 'payment.authorized.v1');

    await endpoint.getByRole('button', { name: /Show deliveries/ }).click();
    const delivery = endpoint.locator(`tr[data-delivery-id="${first.webhookId}"][data-status="succeeded"]`);
    await delivery.waitFor({ timeout: 20_000 });
    assert.equal(await delivery.getByTestId('delivery-response').textContent(), '200');
    await screenshot(page, 'dashboard-developers-webhooks');
    await assertAccessible(page, 'developers page (webhooks and deliveries)');

    await delivery.getByRole('button', { name: /Resend/ }).click();
    await page.getByTestId('delivery-notice').waitFor();
    await eventually('the receiver gets the same delivery again', () =>
      received.filter((item) => item.webhookId === first.webhookId).length >= 2 ? true : undefined,
    );
    await endpoint
      .locator(`tr[data-delivery-id="${first.webhookId}"] td.number`)
      .filter({ hasText: '2' })
      .waitFor();

    await endpoint.getByRole('button', { name: /^Disable/ }).click();
    await page.locator(`li[data-endpoint-id="${signing.id}"][data-enabled="false"]`).waitFor();
    await page
      .locator(`li[data-endpoint-id="${signing.id}"]`)
      .getByRole('button', { name: /^Enable/ })
      .click();
    await page.locator(`li[data-endpoint-id="${signing.id}"][data-enabled="true"]`).waitFor();
    assert.deepEqual(csp, []);
    await page.close();
  });

  test("a payment's page shows its webhook deliveries, and one is resent from there", async () => {
    const developer = await createDashboardUser(rig.server, rig.merchant.merchantId, 'developer');
    const session = await dashboardSession(rig.server, developer.email, developer.password);
    const created = await session.fetch('POST', '/webhooks/endpoints', {
      url: `${receiverUrl}-payments`,
      eventTypes: ['payment.authorized.v1', 'payment.captured.v1'],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const token = await tokenize(rig.server.baseUrl, rig.merchant);
    const authorized = await call(rig.server.baseUrl, rig.merchant, 'POST', '/payments/authorize', {
      ...authorizeBody(token, 4200),
      capture: true,
    });
    assert.equal(authorized.status, 201, authorized.text);
    const paymentId = authorized.body['paymentId'] as string;
    const toThisEndpoint = () =>
      received.filter((item) => item.path === '/hooks-payments' && item.paymentId === paymentId);
    await eventually('both events of the payment reach the endpoint', () =>
      toThisEndpoint().length >= 2 ? true : undefined,
    );
    const captured = toThisEndpoint().find((item) => item.type === 'payment.captured.v1');
    assert.ok(captured, JSON.stringify(toThisEndpoint()));

    const page = await rig.signedInPage('developer');
    const csp = collectCspViolations(page);
    await page.goto(`${rig.server.baseUrl}/dashboard/payments/${paymentId}`);
    await page.getByRole('heading', { name: 'Webhook deliveries' }).waitFor();
    const row = page.locator(`tr[data-delivery-id="${captured.webhookId}"][data-status="succeeded"]`);
    await row.waitFor({ timeout: 20_000 });
    assert.equal(await row.getByTestId('delivery-response').textContent(), '200');
    assert.match((await row.textContent()) ?? '', /payment\.captured\.v1/);
    await screenshot(page, 'dashboard-payment-deliveries');
    await assertAccessible(page, 'payment page with deliveries');
    await row.getByRole('button', { name: /Resend/ }).click();
    await page.getByTestId('delivery-notice').waitFor();
    await eventually('the captured delivery arrives again', () =>
      received.filter((item) => item.webhookId === captured.webhookId).length >= 2 ? true : undefined,
    );
    assert.deepEqual(csp, []);
    await page.close();

    // Another merchant sees none of these deliveries; a malformed id is 400, not 500.
    const other = await merchantSession(rig.server, 'Nosy Neighbour');
    const stranger = await createDashboardUser(rig.server, other.merchantId, 'owner');
    const strangerSession = await dashboardSession(rig.server, stranger.email, stranger.password);
    const foreign = await strangerSession.fetch('GET', `/webhooks/deliveries?paymentId=${paymentId}`);
    assert.equal(foreign.status, 200);
    assert.deepEqual(foreign.body['data'], []);
    const own = await session.fetch('GET', `/webhooks/deliveries?paymentId=${paymentId}`);
    assert.ok((own.body['data'] as unknown[]).length >= 2);
    const malformed = await session.fetch('GET', '/webhooks/deliveries?paymentId=pay_x');
    assert.equal(malformed.status, 400);
    const missing = await session.fetch('GET', '/webhooks/deliveries');
    assert.equal(missing.status, 400);
    assert.equal(missing.body['code'], 'validation_failed');
  });

  test('an analyst reads but cannot create a client: the API answers 403 problem+json', async () => {
    const page = await developersPage('analyst');
    await page.getByTestId('clients').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Create API client' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Add endpoint' }).count(), 0);
    await screenshot(page, 'dashboard-developers-analyst');
    await assertAccessible(page, 'developers page (analyst)');
    await page.close();

    const analyst = await createDashboardUser(rig.server, rig.merchant.merchantId, 'analyst');
    const session = await dashboardSession(rig.server, analyst.email, analyst.password);
    assert.equal((await session.fetch('GET', '/dashboard/api/clients')).status, 200);
    const refused = await fetch(`${rig.server.baseUrl}/dashboard/api/clients`, {
      method: 'POST',
      headers: {
        cookie: session.cookie,
        'x-csrf-token': session.csrfToken,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ description: 'sneaky' }),
    });
    assert.equal(refused.status, 403);
    assert.match(refused.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(((await refused.json()) as { code: string }).code, 'insufficient_scope');
    const webhook = await session.fetch('POST', '/webhooks/endpoints', {
      url: receiverUrl,
      eventTypes: ['payment.authorized.v1'],
    });
    assert.equal(webhook.status, 403);
  });

  test('a bearer token cannot mint clients; CSRF is needed; another merchant’s client is 404', async () => {
    const bearer = await call(rig.server.baseUrl, rig.merchant, 'POST', '/dashboard/api/clients', {});
    assert.equal(bearer.status, 403, bearer.text);
    assert.equal(bearer.body['code'], 'insufficient_scope');

    const developer = await createDashboardUser(rig.server, rig.merchant.merchantId, 'developer');
    const session = await dashboardSession(rig.server, developer.email, developer.password);
    const noCsrf = await session.fetch('POST', '/dashboard/api/clients', {}, { csrf: false });
    assert.equal(noCsrf.status, 403);
    assert.equal(noCsrf.body['code'], 'csrf_token_invalid');

    const other = await merchantSession(rig.server, 'Somebody Else');
    for (const path of [
      `/dashboard/api/clients/${other.clientId}/rotate-secret`,
      `/dashboard/api/clients/${other.clientId}/disable`,
    ]) {
      const answer = await session.fetch('POST', path);
      assert.equal(answer.status, 404, path);
      assert.equal(answer.body['code'], 'client_not_found');
    }
    // The other merchant's client still works.
    await fetchToken(rig.server.baseUrl, other.clientId, other.clientSecret);
    const listed = await session.fetch('GET', '/dashboard/api/clients');
    const ids = (listed.body['data'] as { clientId: string }[]).map((client) => client.clientId);
    assert.ok(ids.includes(rig.merchant.clientId));
    assert.ok(!ids.includes(other.clientId));
  });
});
