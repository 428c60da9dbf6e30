// Dashboard users for tests: create one through identity's face, sign in over HTTP and keep the
// session cookie and CSRF token as a browser would.
import assert from 'node:assert/strict';
import { systemClock } from '../../src/platform/clock.ts';
import { newId } from '../../src/platform/ids.ts';
import { createDashboardUserWith, type DashboardRole } from '../../src/modules/identity/index.ts';
import type { TestServer } from './server.ts';

let userCount = 0;

export async function createDashboardUser(
  server: TestServer,
  merchantId: string,
  role: DashboardRole,
): Promise<{ email: string; password: string }> {
  userCount += 1;
  const email = `${role}-${userCount}-${Date.now()}@merchant.example`;
  const created = await createDashboardUserWith(
    { sql: server.database.sql, clock: systemClock },
    { merchantId, email, role },
  );
  return { email, password: created.password };
}

/** A dashboard operator (ADR 32): no merchant; its session acts as an admin principal. */
export async function createOperatorUser(server: TestServer): Promise<{ email: string; password: string }> {
  userCount += 1;
  const email = `operator-${userCount}-${Date.now()}@payflow.example`;
  const created = await createDashboardUserWith(
    { sql: server.database.sql, clock: systemClock },
    { email, role: 'operator' },
  );
  return { email, password: created.password };
}

/** A dead letter of the `webhooks` group for an event in the log (the newest of this aggregate). */
export async function deadLetterOf(
  server: TestServer,
  aggregateId: string,
): Promise<{ id: string; eventId: string }> {
  const [event] = await server.database.sql<{ position: bigint; event_id: string }[]>`
    select position, event_id from events.log where aggregate_id = ${aggregateId}
    order by position desc limit 1`;
  assert.ok(event, `no event of ${aggregateId} in the log`);
  const id = newId('dlq', Date.now());
  await server.database.sql`
    insert into events.dead_letters (id, consumer_group, position, error, attempts)
    values (${id}, 'webhooks', ${event.position}, 'connect ECONNREFUSED 10.0.0.9:443 (seeded by the test)', 8)`;
  return { id, eventId: event.event_id };
}

export interface DashboardSession {
  readonly cookie: string;
  readonly setCookie: string;
  readonly csrfToken: string;
  readonly user: Record<string, unknown>;
  /** A same-origin call with the cookie (and the CSRF token unless `csrf: false`). */
  fetch(
    method: string,
    path: string,
    body?: unknown,
    options?: { csrf?: boolean; idempotencyKey?: string },
  ): Promise<{
    status: number;
    body: Record<string, unknown>;
  }>;
}

export async function signIn(server: TestServer, email: string, password: string) {
  return fetch(`${server.baseUrl}/dashboard/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
}

export async function dashboardSession(
  server: TestServer,
  email: string,
  password: string,
): Promise<DashboardSession> {
  const response = await signIn(server, email, password);
  const body = (await response.json()) as Record<string, unknown>;
  assert.equal(response.status, 200, JSON.stringify(body));
  const setCookie = response.headers.get('set-cookie') ?? '';
  const cookie = setCookie.split(';')[0]!;
  const csrfToken = body['csrfToken'] as string;
  return {
    cookie,
    setCookie,
    csrfToken,
    user: body['user'] as Record<string, unknown>,
    async fetch(method, path, payload, options = {}) {
      const headers: Record<string, string> = { cookie };
      if (options.csrf !== false) headers['x-csrf-token'] = csrfToken;
      if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
      if (payload !== undefined) headers['content-type'] = 'application/json';
      const answer = await fetch(`${server.baseUrl}${path}`, {
        method,
        headers,
        ...(payload !== undefined && { body: JSON.stringify(payload) }),
      });
      const text = await answer.text();
      return { status: answer.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    },
  };
}
