// A webhook endpoint disabled after its last failed retry, enabled again by the merchant: the failure
// state is reset, failed deliveries are not resent by themselves, a manual retry delivers one (same
// webhook-id), new events are delivered again; the deliveries list shows every attempt; and
// /metrics counts the disabled endpoint. Real PayFlow, a real receiver on 127.0.0.1.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestServer, type TestServer } from './support/server.ts';
import { adminToken, merchantSession, type MerchantSession } from './support/identity.ts';
import { authorizeBody, call, paymentsEnv, startTestAcquirer, tokenize } from './support/payments.ts';
import { verifyWebhook } from '../src/webhooks.ts';
import type { RunningSimulator } from '../src/simulator/index.ts';
import { eventually } from './support/eventually.ts';

interface Received {
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

let acquirer: RunningSimulator;
let server: TestServer;
let receiver: http.Server;
let receiverUrl: string;
let answerStatus = 500;
const received: Received[] = [];

before(async () => {
  acquirer = await startTestAcquirer();
  server = await startTestServer({
    env: paymentsEnv(acquirer.url, {
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_POLL_INTERVAL_MS: '50',
      WEBHOOK_TIMEOUT_MS: '2000',
      WEBHOOK_RETRY_SCHEDULE: '200ms', // the first attempt and one retry, then the endpoint is disabled
      EVENTS_POLL_INTERVAL_MS: '50',
    }),
  });
  receiver = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(answerStatus, { 'content-type': 'text/plain' }).end('x'.repeat(5000));
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
});
after(async () => {
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
  await server.close();
  await acquirer.close();
});

async function authorizePayment(session: MerchantSession): Promise<void> {
  const token = await tokenize(server.baseUrl, session);
  const answer = await call(
    server.baseUrl,
    session,
    'POST',
    '/payments/authorize',
    authorizeBody(token, 1200),
  );
  assert.equal(answer.status, 201, answer.text);
}

type DeliveryJson = {
  id: string;
  status: string;
  attemptCount: number;
  nextAttemptAt: string | null;
  attempts: {
    attemptNumber: number;
    attemptedAt: string;
    statusCode: number | null;
    latencyMs: number;
    responseBody: string | null;
    error: string | null;
    succeeded: boolean;
  }[];
};

async function deliveries(session: MerchantSession, endpointId: string): Promise<DeliveryJson[]> {
  const answer = await call(server.baseUrl, session, 'GET', `/webhooks/endpoints/${endpointId}/deliveries`);
  assert.equal(answer.status, 200, answer.text);
  return answer.body.data as DeliveryJson[];
}

async function disabledEndpointsGauge(): Promise<number | undefined> {
  const response = await fetch(`${server.baseUrl}/metrics`, {
    headers: { authorization: `Bearer ${await adminToken(server)}` },
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  const line = /^payflow_webhooks_endpoints_disabled (\S+)$/m.exec(text);
  return line ? Number(line[1]) : undefined;
}

test('a disabled endpoint is enabled again; failed deliveries wait for a manual retry', async () => {
  const merchant = await merchantSession(server);
  const other = await merchantSession(server);
  const created = await call(server.baseUrl, merchant, 'POST', '/webhooks/endpoints', {
    url: receiverUrl,
    eventTypes: ['payment.authorized.v1'],
  });
  assert.equal(created.status, 201, created.text);
  const endpointId = created.body.id as string;
  const secret = created.body.secret as string;
  assert.equal(await disabledEndpointsGauge(), 0);

  await authorizePayment(merchant);
  const disabled = await eventually('the endpoint to be disabled', async () => {
    const answer = await call(server.baseUrl, merchant, 'GET', `/webhooks/endpoints/${endpointId}`);
    return answer.body.enabled === false ? answer.body : undefined;
  });
  assert.match(disabled.disabledReason as string, /failed 2 times/);
  assert.equal(disabled.failureCount, 2);
  assert.equal(await disabledEndpointsGauge(), 1);

  // Every attempt is listed: when, the status code, the latency, the answer cut to 1 KiB, the error.
  const [failed] = await deliveries(merchant, endpointId);
  assert.equal(failed!.status, 'failed');
  assert.equal(failed!.nextAttemptAt, null);
  assert.equal(failed!.attempts.length, 2);
  for (const [index, attempt] of failed!.attempts.entries()) {
    assert.equal(attempt.attemptNumber, index + 1);
    assert.ok(Number.isFinite(Date.parse(attempt.attemptedAt)), attempt.attemptedAt);
    assert.equal(attempt.statusCode, 500);
    assert.ok(Number.isInteger(attempt.latencyMs) && attempt.latencyMs >= 0, String(attempt.latencyMs));
    assert.equal(attempt.responseBody, 'x'.repeat(1024));
    assert.equal(attempt.error, 'the endpoint answered 500');
    assert.equal(attempt.succeeded, false);
  }
  assert.ok(Date.parse(failed!.attempts[1]!.attemptedAt) > Date.parse(failed!.attempts[0]!.attemptedAt));
  assert.equal(received.length, 2);

  const refused = await call(server.baseUrl, merchant, 'POST', `/webhooks/deliveries/${failed!.id}/retry`);
  assert.equal(refused.status, 409, refused.text);
  assert.equal(refused.body.code, 'webhook_endpoint_disabled');
  for (const path of [`/webhooks/endpoints/${endpointId}/enable`, '/webhooks/endpoints/we_nope/enable']) {
    const notYours = await call(server.baseUrl, other, 'POST', path);
    assert.equal(notYours.status, 404, notYours.text);
    assert.equal(notYours.body.code, 'webhook_endpoint_not_found');
  }

  answerStatus = 200;
  const enabled = await call(server.baseUrl, merchant, 'POST', `/webhooks/endpoints/${endpointId}/enable`);
  assert.equal(enabled.status, 200, enabled.text);
  assert.equal(enabled.body.enabled, true);
  assert.equal(enabled.body.disabledReason, null);
  assert.equal(enabled.body.failureCount, 0);
  assert.equal(await disabledEndpointsGauge(), 0);
  const [stillFailed] = await deliveries(merchant, endpointId);
  assert.equal(stillFailed!.status, 'failed', 'enabling does not resend failed deliveries');
  assert.equal(stillFailed!.nextAttemptAt, null);

  const retried = await call(server.baseUrl, merchant, 'POST', `/webhooks/deliveries/${failed!.id}/retry`);
  assert.equal(retried.status, 202, retried.text);
  const [delivered] = await eventually('the retried delivery', async () => {
    const found = await deliveries(merchant, endpointId);
    return found[0]?.status === 'succeeded' ? found : undefined;
  });
  assert.equal(delivered!.attempts.length, 3);
  assert.equal(delivered!.attempts[2]!.statusCode, 200);
  assert.equal(received.length, 3, 'one manual retry, one request');
  assert.equal(received[2]!.headers['webhook-id'], failed!.id, 'the same webhook-id');
  verifyWebhook({ headers: received[2]!.headers, rawBody: received[2]!.body, secret });

  await authorizePayment(merchant);
  const latest = await eventually('a new event delivered to the enabled endpoint', async () => {
    const found = await deliveries(merchant, endpointId);
    return found.length === 2 && found[0]!.status === 'succeeded' ? found[0] : undefined;
  });
  assert.equal(latest.attempts.length, 1);
  assert.equal(received.length, 4);

  const again = await call(server.baseUrl, merchant, 'POST', `/webhooks/endpoints/${endpointId}/enable`);
  assert.equal(again.status, 200, 'enabling an enabled endpoint changes nothing');
  assert.equal(again.body.enabled, true);
  const deleted = await fetch(`${server.baseUrl}/webhooks/endpoints/${endpointId}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${merchant.token}` },
  });
  assert.equal(deleted.status, 204);
  const gone = await call(server.baseUrl, merchant, 'POST', `/webhooks/endpoints/${endpointId}/enable`);
  assert.equal(gone.status, 404, 'a deleted endpoint stays deleted');
});
