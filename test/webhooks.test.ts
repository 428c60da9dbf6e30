// Webhooks end to end: a real PayFlow with the acquirer simulator, receivers started here with
// node:http on 127.0.0.1, and the public receiver helper (src/webhooks.ts) verifying what arrives.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestServer, type TestServer } from './support/server.ts';
import { merchantSession, type MerchantSession } from './support/identity.ts';
import { authorizeBody, call, paymentsEnv, startTestAcquirer, tokenize } from './support/payments.ts';
import { verifyWebhook, WebhookVerificationError } from '../src/webhooks.ts';
import type { RunningSimulator } from '../src/simulator/index.ts';
import { eventually } from './support/eventually.ts';

interface Received {
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  readonly answeredWith: number;
}

interface Receiver {
  readonly url: string;
  readonly port: number;
  readonly received: Received[];
  close(): Promise<void>;
}

/** A webhook receiver; `answer` picks the status code of each request (by its 0-based index). */
async function startReceiver(answer: (index: number) => number = () => 200, port = 0): Promise<Receiver> {
  const received: Received[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const status = answer(received.length);
      received.push({
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        answeredWith: status,
      });
      response
        .writeHead(status, { 'content-type': 'text/plain' })
        .end(status === 200 ? 'ok' : 'x'.repeat(5000));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actualPort = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actualPort}/hooks`,
    port: actualPort,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let acquirer: RunningSimulator;
let server: TestServer;
let merchant: MerchantSession;
let other: MerchantSession;
let url: string;

before(async () => {
  acquirer = await startTestAcquirer();
  server = await startTestServer({
    env: paymentsEnv(acquirer.url, {
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_POLL_INTERVAL_MS: '50',
      WEBHOOK_TIMEOUT_MS: '2000',
      WEBHOOK_RETRY_SCHEDULE: '1s,1s,1s,1s,1s,1s,1s,1s,1s',
      EVENTS_POLL_INTERVAL_MS: '50',
    }),
  });
  merchant = await merchantSession(server);
  other = await merchantSession(server);
  url = server.baseUrl;
});
after(async () => {
  await server.close();
  await acquirer.close();
});

async function registerEndpoint(target: string, eventTypes = ['payment.authorized.v1'], session = merchant) {
  return call(url, session, 'POST', '/webhooks/endpoints', { url: target, eventTypes });
}

async function authorizePayment(session = merchant): Promise<string> {
  const token = await tokenize(url, session);
  const answer = await call(url, session, 'POST', '/payments/authorize', authorizeBody(token, 1500));
  assert.equal(answer.status, 201, answer.text);
  return answer.body.paymentId as string;
}

type DeliveryJson = {
  id: string;
  status: string;
  eventType: string;
  attemptCount: number;
  attempts: {
    attemptNumber: number;
    statusCode: number | null;
    error: string | null;
    succeeded: boolean;
    webhookTimestamp: number;
    responseBody: string | null;
    latencyMs: number;
  }[];
};

async function deliveries(endpointId: string, session = merchant): Promise<DeliveryJson[]> {
  const answer = await call(url, session, 'GET', `/webhooks/endpoints/${endpointId}/deliveries`);
  assert.equal(answer.status, 200, answer.text);
  return answer.body.data as DeliveryJson[];
}

test('endpoints: create shows the secret once, list/get never, other merchants get 404, delete', async () => {
  const created = await registerEndpoint('http://127.0.0.1:9/hooks', [
    'payment.captured.v1',
    'payment.refunded.v1',
  ]);
  assert.equal(created.status, 201, created.text);
  const id = created.body.id as string;
  assert.match(id, /^we_[0-9a-z]{26}$/);
  assert.match(created.body.secret as string, /^whsec_[A-Za-z0-9+/]{43}=$/);
  assert.deepEqual(created.body.eventTypes, ['payment.captured.v1', 'payment.refunded.v1']);
  assert.equal(created.body.enabled, true);

  const one = await call(url, merchant, 'GET', `/webhooks/endpoints/${id}`);
  assert.equal(one.status, 200, one.text);
  assert.equal(one.body.id, id);
  assert.equal('secret' in one.body, false);
  assert.equal(one.text.includes(created.body.secret as string), false);
  const list = await call(url, merchant, 'GET', '/webhooks/endpoints');
  assert.deepEqual(
    (list.body.data as { id: string }[]).map((endpoint) => endpoint.id),
    [id],
  );
  assert.equal(list.text.includes('whsec_'), false);

  for (const [method, path] of [
    ['GET', `/webhooks/endpoints/${id}`],
    ['GET', `/webhooks/endpoints/${id}/deliveries`],
    ['POST', `/webhooks/endpoints/${id}/rotate-secret`],
  ] as const) {
    const answer = await call(url, other, method, path);
    assert.equal(answer.status, 404, `${method} ${path}: ${answer.text}`);
    assert.equal(answer.body.code, 'webhook_endpoint_not_found');
  }
  const otherDelete = await fetch(`${url}/webhooks/endpoints/${id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${other.token}` },
  });
  assert.equal(otherDelete.status, 404);
  assert.deepEqual((await call(url, other, 'GET', '/webhooks/endpoints')).body.data, []);

  const unknownType = await registerEndpoint('http://127.0.0.1:9/hooks', ['payment.teleported.v1']);
  assert.equal(unknownType.status, 422, unknownType.text);
  assert.equal(unknownType.body.code, 'webhook_event_type_unknown');
  const ftp = await registerEndpoint('ftp://127.0.0.1/hooks');
  assert.equal(ftp.status, 422);
  assert.equal(ftp.body.code, 'webhook_url_invalid');

  const deleted = await fetch(`${url}/webhooks/endpoints/${id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${merchant.token}` },
  });
  assert.equal(deleted.status, 204);
  assert.equal((await call(url, merchant, 'GET', `/webhooks/endpoints/${id}`)).status, 404);
});

test('SSRF: without WEBHOOK_ALLOW_PRIVATE, loopback, private and metadata URLs are refused', async () => {
  const strict = await startTestServer({ env: paymentsEnv(acquirer.url) });
  try {
    const session = await merchantSession(strict);
    for (const target of [
      'http://127.0.0.1:8080/hooks',
      'http://localhost/hooks',
      'http://10.0.0.5/hooks',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]/hooks',
      'https://192.168.1.10/hooks',
    ]) {
      const answer = await call(strict.baseUrl, session, 'POST', '/webhooks/endpoints', {
        url: target,
        eventTypes: ['payment.authorized.v1'],
      });
      assert.equal(answer.status, 422, `${target}: ${answer.text}`);
      assert.equal(answer.body.code, 'webhook_url_forbidden', target);
    }
  } finally {
    await strict.close();
  }
});

test('an authorized payment produces a signed delivery the receiver helper verifies', async () => {
  const receiver = await startReceiver();
  try {
    const created = await registerEndpoint(receiver.url);
    assert.equal(created.status, 201, created.text);
    const secret = created.body.secret as string;
    const paymentId = await authorizePayment();
    const request = await eventually('the webhook', async () => receiver.received[0]);
    verifyWebhook({ headers: request.headers, rawBody: request.body, secret });
    assert.equal(request.headers['content-type'], 'application/json');
    assert.match(request.headers['webhook-id'] as string, /^msg_[0-9a-z]{26}$/);
    const envelope = JSON.parse(request.body) as {
      eventId: string;
      type: string;
      payload: { paymentId: string };
    };
    assert.equal(envelope.type, 'payment.authorized.v1');
    assert.equal(envelope.payload.paymentId, paymentId);
    assert.match(envelope.eventId, /^evt_/);
    assert.throws(
      () =>
        verifyWebhook({ headers: request.headers, rawBody: request.body.replace('1500', '9999'), secret }),
      WebhookVerificationError,
    );

    const [delivery] = await eventually('the succeeded delivery', async () => {
      const found = await deliveries(created.body.id as string);
      return found[0]?.status === 'succeeded' ? found : undefined;
    });
    assert.equal(delivery!.id, request.headers['webhook-id']);
    assert.equal(delivery!.attemptCount, 1);
    assert.equal(delivery!.attempts.length, 1);
    assert.equal(delivery!.attempts[0]!.statusCode, 200);
    assert.equal(delivery!.attempts[0]!.responseBody, 'ok');
    assert.equal(receiver.received.length, 1, 'one event, one delivery');

    const retried = await call(url, merchant, 'POST', `/webhooks/deliveries/${delivery!.id}/retry`);
    assert.equal(retried.status, 202, retried.text);
    const again = await eventually('the manual retry', async () => receiver.received[1]);
    assert.equal(again.headers['webhook-id'], delivery!.id, 'a manual retry keeps the webhook-id');
    verifyWebhook({ headers: again.headers, rawBody: again.body, secret });
    const otherRetry = await call(url, other, 'POST', `/webhooks/deliveries/${delivery!.id}/retry`);
    assert.equal(otherRetry.status, 404);
    assert.equal(otherRetry.body.code, 'webhook_delivery_not_found');
  } finally {
    await receiver.close();
  }
});

test('a receiver that is down, then answers 500, then 200: same webhook-id, fresh timestamps, delivered once', async () => {
  const placeholder = await startReceiver();
  const port = placeholder.port;
  await placeholder.close(); // nothing listens on the port now: the first attempts are refused
  const created = await registerEndpoint(`http://127.0.0.1:${port}/hooks`);
  assert.equal(created.status, 201, created.text);
  const endpointId = created.body.id as string;
  const secret = created.body.secret as string;
  await authorizePayment();
  await eventually('a refused attempt', async () => {
    const [delivery] = await deliveries(endpointId);
    return delivery !== undefined && delivery.attempts.length >= 1 ? delivery : undefined;
  });
  const receiver = await startReceiver((index) => (index === 0 ? 500 : 200), port);
  try {
    const [delivery] = await eventually('the delivery to succeed', async () => {
      const found = await deliveries(endpointId);
      return found[0]?.status === 'succeeded' ? found : undefined;
    });
    assert.deepEqual(
      receiver.received.map((request) => request.answeredWith),
      [500, 200],
    );
    const ids = new Set(receiver.received.map((request) => request.headers['webhook-id']));
    assert.deepEqual([...ids], [delivery!.id]);
    for (const request of receiver.received)
      verifyWebhook({ headers: request.headers, rawBody: request.body, secret });
    const timestamps = receiver.received.map((request) => Number(request.headers['webhook-timestamp']));
    assert.ok(timestamps[1]! > timestamps[0]!, `fresh timestamp per attempt: ${timestamps.join(', ')}`);
    assert.equal(receiver.received[0]!.body, receiver.received[1]!.body, 'the same body on every attempt');

    const attempts = delivery!.attempts;
    assert.equal(delivery!.attemptCount, attempts.length);
    assert.deepEqual(
      attempts.map((attempt) => attempt.attemptNumber),
      attempts.map((_, index) => index + 1),
    );
    const refused = attempts.slice(0, -2);
    assert.ok(refused.length >= 1);
    for (const attempt of refused) {
      assert.equal(attempt.statusCode, null);
      assert.equal(attempt.succeeded, false);
      assert.ok(attempt.error !== null && attempt.error.length > 0);
    }
    const [failed, succeeded] = attempts.slice(-2);
    assert.equal(failed!.statusCode, 500);
    assert.equal(failed!.succeeded, false);
    assert.equal(Buffer.byteLength(failed!.responseBody ?? ''), 1024, 'the answer is truncated to 1 KiB');
    assert.equal(succeeded!.statusCode, 200);
    assert.equal(succeeded!.succeeded, true);
    assert.equal(new Set(attempts.map((attempt) => attempt.webhookTimestamp)).size, attempts.length);
  } finally {
    await receiver.close();
  }
});

test('rotation: during the grace period both secrets sign; each verifies', async () => {
  const receiver = await startReceiver();
  try {
    const created = await registerEndpoint(receiver.url);
    const oldSecret = created.body.secret as string;
    const rotated = await call(
      url,
      merchant,
      'POST',
      `/webhooks/endpoints/${created.body.id as string}/rotate-secret`,
    );
    assert.equal(rotated.status, 200, rotated.text);
    const newSecret = rotated.body.secret as string;
    assert.match(newSecret, /^whsec_/);
    assert.notEqual(newSecret, oldSecret);
    const graceHours = (Date.parse(rotated.body.previousSecretExpiresAt as string) - Date.now()) / 3_600_000;
    assert.ok(graceHours > 23.9 && graceHours <= 24, `default grace 24 h, got ${graceHours}`);
    await authorizePayment();
    const request = await eventually('the webhook', async () => receiver.received[0]);
    assert.equal((request.headers['webhook-signature'] as string).split(' ').length, 2);
    verifyWebhook({ headers: request.headers, rawBody: request.body, secret: oldSecret });
    verifyWebhook({ headers: request.headers, rawBody: request.body, secret: newSecret });
  } finally {
    await receiver.close();
  }
});

test('after the last failed retry the endpoint is disabled and a merchant notice is stored', async () => {
  const receiver = await startReceiver(() => 500);
  const owner = await merchantSession(server); // its own merchant: no endpoint of the other tests
  try {
    const created = await registerEndpoint(receiver.url, ['payment.authorized.v1'], owner);
    const endpointId = created.body.id as string;
    await authorizePayment(owner);
    const endpoint = await eventually(
      'the endpoint to be disabled',
      async () => {
        const answer = await call(url, owner, 'GET', `/webhooks/endpoints/${endpointId}`);
        return answer.body.enabled === false ? answer.body : undefined;
      },
      { timeoutMs: 60_000 },
    );
    assert.match(endpoint.disabledReason as string, /failed 10 times/);
    const [delivery] = await deliveries(endpointId, owner);
    assert.equal(delivery!.status, 'failed');
    assert.equal(delivery!.attempts.length, 10, 'the first attempt and nine retries');
    assert.equal(receiver.received.length, 10);
    const notices = await server.database.sql<{ kind: string; body: string }[]>`
      select kind, body from notifications.notices where merchant_id = ${owner.merchantId}`;
    assert.equal(notices.length, 1);
    assert.equal(notices[0]!.kind, 'webhook_endpoint_disabled');
    assert.ok(notices[0]!.body.includes(endpointId));
    const retry = await call(url, owner, 'POST', `/webhooks/deliveries/${delivery!.id}/retry`);
    assert.equal(retry.status, 409, retry.text);
    assert.equal(retry.body.code, 'webhook_endpoint_disabled');
  } finally {
    await receiver.close();
  }
});
