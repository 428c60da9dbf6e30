// Helpers for payments tests: an acquirer simulator for the test, tokens from the real POST /tokens,
// and JSON calls with an Idempotency-Key.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../../src/simulator/index.ts';
import type { MerchantSession } from './identity.ts';
import { runCli } from './server.ts';
import { eventually, type EventuallyOptions } from './eventually.ts';

export const approvedCard = '4242424242424242';

export interface PaymentsEnvironment {
  readonly env: Record<string, string>;
}

/** Settings for a PayFlow process under test: a short acquirer deadline and a fast janitor. */
export function paymentsEnv(acquirerUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ACQUIRER_URL: acquirerUrl,
    ACQUIRER_TIMEOUT_MS: '1000',
    PAYMENT_INQUIRY_SCHEDULE: '300ms,300ms,500ms,1s,1s,2s,5s',
    PAYMENT_JOB_INTERVAL_MS: '100',
    IDEMPOTENCY_KEY_LOCK_TIMEOUT_MS: '3000',
    ...extra,
  };
}

export function startTestAcquirer(options: Partial<SimulatorOptions> = {}): Promise<RunningSimulator> {
  return startSimulator({ port: 0, slowResponseMs: 2_000, ...options });
}

export interface JsonAnswer {
  readonly status: number;
  readonly text: string;
  readonly headers: Headers;
  // Tests read the fields they expect and let assertions fail otherwise.
  readonly body: Record<string, unknown>;
}

export async function call(
  baseUrl: string,
  session: MerchantSession,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  idempotencyKey: string | null = randomUUID(),
): Promise<JsonAnswer> {
  const headers = session.headers(
    idempotencyKey !== null && method === 'POST' ? { 'idempotency-key': idempotencyKey } : {},
  );
  if (method === 'GET') delete headers['content-type'];
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    ...(method === 'POST' && { body: typeof body === 'string' ? body : JSON.stringify(body ?? {}) }),
  });
  const text = await response.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = {};
  }
  return { status: response.status, text, headers: response.headers, body: parsed };
}

export async function tokenize(
  baseUrl: string,
  session: MerchantSession,
  number: string = approvedCard,
): Promise<string> {
  const response = await fetch(`${baseUrl}/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${session.publishableToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ card: { number, expMonth: 12, expYear: 2034, cvc: '123' } }),
  });
  const body = (await response.json()) as { token?: string };
  if (response.status !== 201 || !body.token)
    throw new Error(`tokenize failed: ${response.status} ${JSON.stringify(body)}`);
  return body.token;
}

export function authorizeBody(token: string, amount = 1000, extra: Record<string, unknown> = {}) {
  return { amount, currency: 'USD', paymentMethod: { type: 'card', token }, ...extra };
}

/** Polls GET /payments/{id} until `done` holds (the janitor works in the background). */
export async function waitForPayment(
  baseUrl: string,
  session: MerchantSession,
  paymentId: string,
  done: (payment: Record<string, unknown>) => boolean,
  options: EventuallyOptions = {},
): Promise<Record<string, unknown>> {
  let last: Record<string, unknown> = {};
  return eventually(
    () => `payment ${paymentId} to reach the expected state; last: ${JSON.stringify(last)}`,
    async () => {
      last = (await call(baseUrl, session, 'GET', `/payments/${paymentId}`)).body;
      return done(last) ? last : undefined;
    },
    options,
  );
}

/** `payflow ledger verify` against the database exits 0 (every invariant holds). */
export async function assertLedgerVerifies(databaseUrl: string): Promise<void> {
  const result = await runCli(['ledger', 'verify'], { DATABASE_URL: databaseUrl });
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
}
