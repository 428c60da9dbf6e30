// Every state-changing operation of /openapi.json (POST, PUT, PATCH, DELETE) declares how it is
// authenticated (a bearer token from POST /oauth/token, or the dashboard session), except the few
// that are public on purpose; and each one, tried without credentials with a body that would not
// even validate, is refused with 401 and a bearer challenge that names no error (RFC 6750 §3.1).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
let document: { paths: Record<string, Record<string, { security?: Record<string, string[]>[] }>> };

before(async () => {
  server = await startTestServer();
  document = (await (await fetch(`${server.baseUrl}/openapi.json`)).json()) as typeof document;
});
after(() => server.close());

const changing = ['post', 'put', 'patch', 'delete'];

/** Public on purpose: getting a token, signing in and out, and the payer paying a checkout session. */
const publicOperations = [
  'post /oauth/token',
  'post /dashboard/api/session',
  'delete /dashboard/api/session',
  'post /v1/checkout/sessions/{id}/pay',
];

function operations(): { method: string; path: string; security: Record<string, string[]>[] }[] {
  return Object.entries(document.paths).flatMap(([path, byMethod]) =>
    Object.entries(byMethod)
      .filter(([method]) => changing.includes(method))
      .map(([method, operation]) => ({ method, path, security: operation.security ?? [] })),
  );
}

test('every state-changing operation declares its security, but the public ones', () => {
  const all = operations();
  assert.ok(all.length >= 30, `${all.length} state-changing operations`);
  const undeclared = all
    .filter((operation) => operation.security.length === 0)
    .map(({ method, path }) => `${method} ${path}`);
  assert.deepEqual(undeclared.sort(), [...publicOperations].sort());
  for (const { method, path, security } of all) {
    for (const requirement of security)
      for (const scheme of Object.keys(requirement))
        assert.ok(['bearer', 'dashboardSession'].includes(scheme), `${method} ${path}: scheme ${scheme}`);
  }
});

test('each one, called without credentials, is 401 with a bearer challenge and no error code', async () => {
  const refusals: string[] = [];
  let tried = 0;
  for (const { method, path, security } of operations()) {
    if (security.length === 0) continue;
    tried += 1;
    // Parameters that do not even match their patterns, and a body that would not validate:
    // authentication comes first, so neither may show through.
    const url = `${server.baseUrl}${path.replaceAll(/\{[^}]+\}/g, 'x')}`;
    const response = await fetch(url, {
      method: method.toUpperCase(),
      ...(method === 'delete'
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: '{"unexpected":true}' }),
    });
    const challenge = response.headers.get('www-authenticate') ?? '';
    const type = response.headers.get('content-type') ?? '';
    const body = (await response.json().catch(() => ({}))) as { code?: string };
    if (
      response.status !== 401 ||
      !/^Bearer realm="payflow"/.test(challenge) ||
      /error=/.test(challenge) ||
      !type.startsWith('application/problem+json') ||
      typeof body.code !== 'string'
    )
      refusals.push(`${method} ${path}: ${response.status} [${challenge}] ${type} ${body.code}`);
  }
  assert.ok(tried >= 30, `${tried} tried`);
  assert.deepEqual(refusals, []);
});
