// Dashboard users for tests: create one through identity's face, sign in over HTTP and keep the
// session cookie and CSRF token as a browser would.
import assert from 'node:assert/strict';
import { systemClock } from '../../src/platform/clock.ts';
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
