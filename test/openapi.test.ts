// /openapi.json is what a client generator and a new integrator read: it is linted here with
// Redocly's `recommended` rules (an independent linter), with no error and no warning, and checked
// for what the lint does not see: every protected operation says so, payments require their
// Idempotency-Key and document the status codes they really answer.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { startTestServer, type TestServer } from './support/server.ts';
import { merchantSession } from './support/identity.ts';
import { call, tokenize } from './support/payments.ts';
import { errorCatalogue, errorCodes } from '../src/platform/error-codes.ts';

let server: TestServer;
let document: {
  components: { schemas: Record<string, { properties?: Record<string, { enum?: string[] }> }> };
  paths: Record<
    string,
    Record<
      string,
      {
        operationId?: string;
        summary?: string;
        security?: unknown[];
        responses: Record<
          string,
          { description?: string; content?: Record<string, { schema?: Record<string, unknown> }> }
        >;
        parameters?: Array<{ name: string; in: string; required?: boolean }>;
      }
    >
  >;
};
let source: string;

before(async () => {
  server = await startTestServer();
  source = await (await fetch(`${server.baseUrl}/openapi.json`)).text();
  document = JSON.parse(source) as typeof document;
});
after(() => server.close());

test("Redocly's recommended lint finds no error and no warning", async () => {
  const config = await createConfig({ extends: ['recommended'] });
  const problems = await lintFromString({ source, absoluteRef: 'openapi.json', config });
  const listed = problems.map(
    (problem) =>
      `${problem.severity} ${problem.ruleId}: ${problem.message} at ${problem.location[0]?.pointer ?? '?'}`,
  );
  assert.deepEqual(listed, []);
});

test('every operation has a unique operationId and documents its problem answers', () => {
  const ids = new Set<string>();
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      assert.ok(operation.operationId, `${method} ${path} has an operationId`);
      assert.ok(!ids.has(operation.operationId), `${operation.operationId} is unique`);
      ids.add(operation.operationId);
      assert.ok(
        Object.keys(operation.responses).some((code) => code.startsWith('4')),
        `${method} ${path} documents a 4xx`,
      );
    }
  }
});

/** A schema that says nothing of the members: `{type: 'object'}` alone (or no schema at all). */
function isBare(schema: Record<string, unknown> | undefined): boolean {
  if (schema === undefined) return true;
  const described = ['properties', '$ref', 'additionalProperties', 'anyOf', 'oneOf', 'allOf', 'items'];
  return schema['type'] === 'object' && !described.some((keyword) => schema[keyword] !== undefined);
}

test('every operation has a summary and a described success answer (no bare JSON object)', () => {
  const bare: string[] = [];
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      assert.ok(operation.summary?.trim(), `${method} ${path} has a summary`);
      const successes = Object.entries(operation.responses).filter(([code]) => /^[23]/.test(code));
      assert.ok(successes.length > 0, `${method} ${path} documents a success answer`);
      for (const [code, response] of successes) {
        // 204, 3xx: no body. Otherwise each media type has a schema that names its members.
        if (response.content === undefined) {
          if (!/^(204|3)/.test(code)) bare.push(`${method} ${path} ${code}: no content`);
          continue;
        }
        for (const [type, media] of Object.entries(response.content))
          if (isBare(media.schema)) bare.push(`${method} ${path} ${code} ${type}`);
      }
    }
  }
  assert.deepEqual(bare, []);
  // The check itself can fail: a bare object is bare, a described one is not.
  assert.equal(isBare({ type: 'object' }), true);
  assert.equal(isBare({ type: 'object', properties: { id: { type: 'string' } } }), false);
});

test('a route that needs a token declares bearer security; public ones declare none', async () => {
  // The bearer scheme is OAuth2 client credentials; a requirement names the scopes its route checks.
  assert.deepEqual(document.paths['/v1/payments/authorize']!.post!.security, [
    { bearer: ['payments:write'] },
  ]);
  assert.deepEqual(document.paths['/v1/tokens']!.post!.security, [{ bearer: ['tokens:create'] }]);
  assert.deepEqual(document.paths['/v1/balance']!.get!.security, [{ bearer: ['balance:read'] }]);
  const schemes = (
    document as unknown as { components: { securitySchemes: Record<string, Record<string, unknown>> } }
  ).components.securitySchemes;
  const flow = (
    schemes['bearer']!['flows'] as Record<string, { tokenUrl: string; scopes: Record<string, string> }>
  )['clientCredentials']!;
  assert.equal(schemes['bearer']!['type'], 'oauth2');
  assert.equal(flow.tokenUrl, '/oauth/token');
  for (const scope of ['payments:write', 'tokens:create', 'balance:read'])
    assert.ok(flow.scopes[scope] !== undefined, `the flow lists ${scope}`);
  assert.deepEqual(document.paths['/healthz']!.get!.security, []);
  // What the document says is what the server does: a protected route without a token is 401.
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      if (method !== 'get' || path.includes('{') || (operation.security ?? []).length === 0) continue;
      const response = await fetch(`${server.baseUrl}${path}`);
      assert.equal(response.status, 401, `GET ${path} without a token`);
    }
  }
});

test('payments: Idempotency-Key is required, and authorize documents the 201 it answers', async () => {
  for (const path of [
    '/v1/payments/authorize',
    '/v1/payments/{id}/capture',
    '/v1/payments/{id}/refund',
    '/v1/payments/{id}/void',
  ]) {
    const key = document.paths[path]!.post!.parameters?.find(
      (parameter) => parameter.name === 'idempotency-key',
    );
    assert.equal(key?.required, true, `${path} requires Idempotency-Key`);
  }
  const authorize = document.paths['/v1/payments/authorize']!.post!;
  assert.ok(authorize.responses['201'] && authorize.responses['202'] && authorize.responses['422']);
  assert.equal(authorize.responses['200'], undefined);
  const session = await merchantSession(server);
  const answer = await call(server.baseUrl, session, 'POST', '/v1/payments/authorize', {
    amount: 100,
    currency: 'USD',
    paymentMethod: { type: 'card', token: await tokenize(server.baseUrl, session) },
  });
  assert.equal(answer.status, 201, answer.text);
  assert.ok(Object.keys(authorize.responses).includes(String(answer.status)), `answered ${answer.status}`);
});

test("the Problem schema's codes are the catalogue's (src/platform/error-codes.ts), and every code an operation names is in it", () => {
  const listed = document.components.schemas['Problem']?.properties?.['code']?.enum;
  assert.deepEqual([...(listed ?? [])].sort(), [...errorCodes].sort());
  let named = 0;
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!/^[45]/.test(status) || response.content?.['application/problem+json'] === undefined) continue;
        // Codes are named in backticks in the answer's description: `payment_not_found`.
        for (const [, code] of (response.description ?? '').matchAll(/`([a-z][a-z0-9]*(?:_[a-z0-9]+)+)`/g)) {
          named += 1;
          const entry = (errorCatalogue as Record<string, { status: readonly number[] } | undefined>)[code!];
          assert.ok(entry, `${method} ${path} ${status} names ${code}, which the catalogue does not list`);
          if (/^\d+$/.test(status))
            assert.ok(entry.status.includes(Number(status)), `${method} ${path}: ${code} is never ${status}`);
        }
      }
    }
  }
  assert.ok(named >= 10, `operations name ${named} codes`);
});
