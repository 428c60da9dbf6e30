// Unknown outcomes past the whole inquiry schedule (ADR 34), on real PostgreSQL and the acquirer
// simulator: the simulator's faults leave an authorization unknown (a 500 after it approved, or a 503
// before it recorded anything) and keep answering inquiries 503 until a short schedule runs out. The
// gauge then counts it, the operator API lists it; an operator's resolution asks the acquirer once
// more and applies its answer (approved: AUTHORIZED with its hold; no record: FAILED
// `acquirer_no_record`), the idempotency key answers a client retry with the final answer, the ledger
// verifies and the gauge is back to 0. A merchant's token gets 403 on the operator endpoints.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { RunningSimulator } from '../src/simulator/index.ts';
import { eventually } from './support/eventually.ts';
import { adminToken, merchantSession, type MerchantSession } from './support/identity.ts';
import {
  assertLedgerVerifies,
  authorizeBody,
  call,
  paymentsEnv,
  startTestAcquirer,
  tokenize,
} from './support/payments.ts';
import { runCli, startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
let acquirer: RunningSimulator;
let merchant: MerchantSession;
let admin: string;

before(async () => {
  acquirer = await startTestAcquirer();
  // Two inquiries, 1 s after the request and 200 ms after the first: then the operator's turn.
  server = await startTestServer({
    env: paymentsEnv(acquirer.url, { PAYMENT_INQUIRY_SCHEDULE: '1s,200ms' }),
  });
  merchant = await merchantSession(server, 'Unresolved Ltd');
  admin = await adminToken(server);
});
after(async () => {
  await server?.close();
  await acquirer?.close();
});

async function asAdmin(method: 'GET' | 'POST', path: string, token = admin) {
  const response = await fetch(`${server.baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(method === 'POST' && { 'content-type': 'application/json' }),
    },
    ...(method === 'POST' && { body: '{}' }),
  });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text || '{}') as Record<string, unknown> };
}

async function awaitingResolution(): Promise<number> {
  const response = await fetch(`${server.baseUrl}/metrics`, {
    headers: { authorization: `Bearer ${admin}` },
  });
  const text = await response.text();
  const sample = /^payflow_payments_awaiting_resolution\{operation="authorize"\} (\d+)$/m.exec(text);
  assert.ok(sample, `no authorize sample of the gauge in /metrics:\n${text.slice(0, 400)}`);
  return Number(sample[1]);
}

async function simulatorAuthorization(paymentId: string) {
  const response = await fetch(`${acquirer.url}/v1/authorizations`);
  assert.equal(response.status, 200, 'the simulator answers its own view');
  const { data } = (await response.json()) as { data: { reference: string; status: string }[] };
  return data.find((item) => item.reference === `${paymentId}.authorization`);
}

/** An authorization whose outcome stays unknown until its schedule runs out; returns it and its key. */
async function unresolvedAuthorization(
  faultBeforeRequest: Parameters<RunningSimulator['configureFaults']>[0],
) {
  const token = await tokenize(server.baseUrl, merchant);
  const key = randomUUID();
  acquirer.configureFaults(faultBeforeRequest);
  const first = await call(
    server.baseUrl,
    merchant,
    'POST',
    '/payments/authorize',
    authorizeBody(token),
    key,
  );
  // Inquiries find the acquirer down from now on.
  acquirer.configureFaults({ errorAfterDecisionRate: 0, failureRate: 1 });
  assert.equal(first.status, 202, first.text);
  const paymentId = first.body['paymentId'] as string;
  await eventually(`${paymentId} listed as unresolved`, async () => {
    const listed = await asAdmin('GET', '/v1/admin/payments/unresolved');
    const data = listed.body['data'] as { paymentId: string; operation: string; inquiries: number }[];
    return data.find((item) => item.paymentId === paymentId && item.inquiries === 2);
  });
  return { token, key, paymentId };
}

test('an approval the acquirer holds: unresolved after the schedule, counted, resolved by an operator into AUTHORIZED; the key answers it', async () => {
  const before = await awaitingResolution();
  const { token, key, paymentId } = await unresolvedAuthorization({ errorAfterDecisionRate: 1 });
  assert.equal(await awaitingResolution(), before + 1);
  const payment = await call(server.baseUrl, merchant, 'GET', `/payments/${paymentId}`);
  assert.equal(payment.body['status'], 'PENDING');

  // Merchants are refused on both operator endpoints.
  for (const [method, path] of [
    ['GET', '/v1/admin/payments/unresolved'],
    ['POST', `/v1/admin/payments/${paymentId}/resolve`],
  ] as const) {
    const refused = await asAdmin(method, path, merchant.token);
    assert.equal(refused.status, 403, `${method} ${path}: ${refused.text}`);
    assert.equal(refused.body['code'], 'insufficient_scope');
  }

  // The acquirer still does not answer: nothing changes, the operator is told to try again.
  const unanswered = await asAdmin('POST', `/v1/admin/payments/${paymentId}/resolve`);
  assert.equal(unanswered.status, 503, unanswered.text);
  assert.equal(unanswered.body['code'], 'acquirer_outcome_unknown');
  assert.equal(await awaitingResolution(), before + 1);

  acquirer.configureFaults({ failureRate: 0 });
  assert.equal((await simulatorAuthorization(paymentId))?.status, 'approved', 'the acquirer approved it');
  const resolved = await asAdmin('POST', `/v1/admin/payments/${paymentId}/resolve`);
  assert.equal(resolved.status, 200, resolved.text);
  const answer = resolved.body['answer'] as { status: number; body: Record<string, unknown> };
  assert.equal(answer.status, 201);
  assert.equal(answer.body['status'], 'AUTHORIZED');
  const after = resolved.body['payment'] as Record<string, unknown>;
  assert.equal(after['status'], 'AUTHORIZED');
  assert.equal(after['ledgerHold'], 1000, 'the hold is posted with the state change');

  // The client's retry under its key gets the final answer, replayed.
  const retry = await call(
    server.baseUrl,
    merchant,
    'POST',
    '/payments/authorize',
    authorizeBody(token),
    key,
  );
  assert.equal(retry.status, 201, retry.text);
  assert.equal(retry.headers.get('idempotent-replayed'), 'true');
  assert.equal(retry.body['status'], 'AUTHORIZED');
  assert.equal(await awaitingResolution(), before);
  const again = await asAdmin('POST', `/v1/admin/payments/${paymentId}/resolve`);
  assert.equal(again.status, 409, again.text);
  assert.equal(again.body['code'], 'payment_not_awaiting_resolution');
  await assertLedgerVerifies(server.database.url);
});

test('an authorization the acquirer never recorded: `payflow payments resolve` fails it with acquirer_no_record; the key answers 422', async () => {
  const before = await awaitingResolution();
  const { token, key, paymentId } = await unresolvedAuthorization({ failureRate: 1 });
  assert.equal(await awaitingResolution(), before + 1);

  const listed = await runCli(['payments', 'unresolved'], {
    DATABASE_URL: server.database.url,
    ACQUIRER_URL: acquirer.url,
  });
  assert.equal(listed.code, 0, listed.stderr);
  assert.ok(
    (JSON.parse(listed.stdout) as { paymentId: string }[]).some((item) => item.paymentId === paymentId),
    listed.stdout,
  );
  acquirer.configureFaults({ failureRate: 0 });
  assert.equal(await simulatorAuthorization(paymentId), undefined, 'the acquirer recorded nothing');
  const resolved = await runCli(['payments', 'resolve', paymentId], {
    DATABASE_URL: server.database.url,
    ACQUIRER_URL: acquirer.url,
  });
  assert.equal(resolved.code, 0, resolved.stderr);
  const result = JSON.parse(resolved.stdout) as {
    answer: { status: number; body: Record<string, unknown> };
    payment: Record<string, unknown>;
  };
  assert.equal(result.answer.status, 422);
  assert.equal(result.answer.body['code'], 'acquirer_no_record');
  assert.equal(result.payment['status'], 'FAILED');
  assert.equal(result.payment['declineCode'], 'acquirer_no_record');
  assert.equal(result.payment['ledgerHold'], 0);
  assert.equal(await simulatorAuthorization(paymentId), undefined, 'the resolution sent nothing');

  const retry = await call(
    server.baseUrl,
    merchant,
    'POST',
    '/payments/authorize',
    authorizeBody(token),
    key,
  );
  assert.equal(retry.status, 422, retry.text);
  assert.equal(retry.body['code'], 'acquirer_no_record');
  assert.equal(await awaitingResolution(), before);
  await assertLedgerVerifies(server.database.url);
});
