// The OpenAPI document's completeness rules, applied to every route of every module so that a new
// route cannot forget them: an `operationId` (derived from method and path unless the route names
// one), the security requirement of routes that authenticate (read from their `requireScopes`
// preHandler, with the scopes in the description) and none on public routes, and the problem+json
// answers every route can give (4XX, 5XX) unless it documents its own.
import type { RouteOptions } from 'fastify';
import { errorCodes } from '../error-codes.ts';

const scopesKey = Symbol('payflow.requiredScopes');

/** Marks a preHandler as authenticating with these scopes, for the document. */
export function markScopes<T extends object>(handler: T, scopes: readonly string[]): T {
  Object.defineProperty(handler, scopesKey, { value: scopes });
  return handler;
}

const isMarked = (handler: unknown): boolean =>
  typeof handler === 'function' && (handler as unknown as Record<symbol, unknown>)[scopesKey] !== undefined;

/**
 * An `onRoute` hook: a route's authentication (its `requireScopes` preHandler) runs before the
 * request is validated, so a caller without credentials gets 401 with the bearer challenge whatever
 * it sent, and learns nothing of the route's schema from a 400.
 */
export function authenticateBeforeValidation(route: RouteOptions): void {
  const preHandlers = [route.preHandler].flat().filter((handler) => handler !== undefined);
  const authentication = preHandlers.filter(isMarked);
  if (authentication.length === 0) return;
  const rest = preHandlers.filter((handler) => !isMarked(handler));
  route.preHandler = (rest.length > 0 ? rest : undefined) as never;
  route.preValidation = [
    ...authentication,
    ...[route.preValidation].flat().filter((handler) => handler !== undefined),
  ] as never;
}

function scopesOf(route: RouteOptions): readonly string[] | undefined {
  const handlers = [route.preHandler, route.onRequest, route.preValidation].flat().filter(Boolean);
  for (const handler of handlers) {
    const scopes = (handler as unknown as Record<symbol, readonly string[] | undefined>)[scopesKey];
    if (scopes !== undefined) return scopes;
  }
  return undefined;
}

/**
 * `POST /v1/payments/:id/capture` → `postPaymentsByIdCapture`: the version prefix is left out, so
 * an operation keeps its id across path versions.
 */
export function operationIdOf(method: string, url: string): string {
  const words = url
    .replace(/^\/v\d+(?=\/)/, '')
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => (segment.startsWith(':') ? `by-${segment.slice(1)}` : segment))
    .flatMap((segment) => segment.split(/[^A-Za-z0-9]+/))
    .filter((word) => word !== '');
  return [method.toLowerCase(), ...words.map((word) => word[0]!.toUpperCase() + word.slice(1))].join('');
}

type Schema = Record<string, unknown>;

/** `transform` of @fastify/swagger: per route. */
export function documentRoute({
  schema,
  url,
  route,
}: {
  schema: unknown;
  url: string;
  route: RouteOptions;
}): {
  schema: Schema;
  url: string;
} {
  const { documentedResponses, idempotencyKey, ...rest } = (schema ?? {}) as Schema;
  const document: Schema = { ...rest };
  // Doc-only keys a route may carry: its answers (Fastify serializes nothing from them) and an
  // Idempotency-Key that the handler requires (checked there, for its own error code).
  if (documentedResponses !== undefined) document.response = documentedResponses;
  const headers = document.headers as { properties?: Schema; required?: string[] } | undefined;
  if (idempotencyKey === 'required' && headers?.properties?.['idempotency-key'] !== undefined)
    document.headers = { ...headers, required: [...(headers.required ?? []), 'idempotency-key'] };
  const method = [route.method].flat()[0] ?? 'GET';
  document.operationId ??= operationIdOf(method, url);
  const scopes = scopesOf(route);
  if (document.security === undefined) document.security = scopes === undefined ? [] : [{ bearer: [] }];
  // The bearer scheme is OAuth2 client credentials: a requirement names the scopes the route checks.
  if (scopes !== undefined && scopes.length > 0 && Array.isArray(document.security))
    document.security = (document.security as Record<string, string[]>[]).map((requirement) =>
      requirement['bearer'] !== undefined && requirement['bearer'].length === 0
        ? { ...requirement, bearer: [...scopes] }
        : requirement,
    );
  if (scopes !== undefined && scopes.length > 0) {
    const needs = `Requires a bearer token with scope ${scopes.map((scope) => `\`${scope}\``).join(', ')}.`;
    document.description =
      document.description === undefined ? needs : `${String(document.description)}\n\n${needs}`;
  }
  return { schema: document, url };
}

const problemSchema = {
  type: 'object',
  description: 'RFC 9457 problem details. `code` is stable; `status` is the HTTP status.',
  required: ['type', 'title', 'status', 'code'],
  properties: {
    type: { type: 'string', examples: ['urn:payflow:problem:validation_failed'] },
    title: { type: 'string' },
    status: { type: 'integer' },
    code: {
      type: 'string',
      description:
        'Stable. Every code, its statuses and what to do: docs/errors.md. An acquirer decline code not listed is answered as `card_declined` with the acquirer’s own in `declineCode`.',
      enum: errorCodes,
    },
    detail: { type: 'string' },
    requestId: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } },
    },
  },
} as const;

const problemAnswer = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

interface OpenApiObject {
  info?: Schema;
  servers?: unknown[];
  components?: { schemas?: Schema; securitySchemes?: Schema };
  paths?: Record<string, Record<string, { responses?: Record<string, unknown> } | undefined>>;
}

/** `transformObject` of @fastify/swagger: the whole document, once routes are in. */
export function completeDocument(document: OpenApiObject): OpenApiObject {
  const components = {
    ...document.components,
    schemas: { ...document.components?.schemas, Problem: problemSchema },
  };
  const paths: NonNullable<OpenApiObject['paths']> = {};
  for (const [path, operations] of Object.entries(document.paths ?? {})) {
    paths[path] = {};
    for (const [method, operation] of Object.entries(operations)) {
      if (operation === undefined || typeof operation !== 'object' || !('responses' in operation)) {
        paths[path][method] = operation;
        continue;
      }
      const responses = { ...operation.responses };
      // A route that declares no answer gets @fastify/swagger's bare "Default Response" (200, no
      // body), which is wrong for every such route: they answer JSON, some with 201 or 202.
      const only = responses['200'] as { description?: string; content?: unknown } | undefined;
      if (Object.keys(responses).length === 1 && only?.description === 'Default Response' && !only.content) {
        delete responses['200'];
        responses['2XX'] = {
          description: 'Success: a JSON object (its members are not described in this document yet).',
          content: { 'application/json': { schema: { type: 'object' } } },
        };
      }
      // 204 and 304 have no body (RFC 9110): a route that wrote `{description}` for its 204 gets no
      // JSON content from @fastify/swagger's reading of it as a schema.
      for (const code of ['204', '304']) {
        const answer = responses[code] as { content?: unknown } | undefined;
        if (answer?.content !== undefined) {
          const { content: _dropped, ...rest } = answer;
          responses[code] = rest;
        }
      }
      const codes = Object.keys(responses);
      if (!codes.some((code) => code.startsWith('4')))
        responses['4XX'] = problemAnswer('The request was refused; `code` says why.');
      if (!codes.some((code) => code.startsWith('5')))
        responses['5XX'] = problemAnswer('PayFlow or a service it depends on failed.');
      paths[path][method] = { ...operation, responses };
    }
  }
  // The bearer scheme as what it is: OAuth2 client credentials at POST /oauth/token (a relative URL,
  // resolved against `servers`), with every scope an operation requires.
  const scopes = new Set<string>();
  for (const operations of Object.values(paths))
    for (const operation of Object.values(operations ?? {}))
      for (const requirement of ((operation as { security?: Record<string, string[]>[] } | undefined)
        ?.security ?? []) as Record<string, string[]>[])
        for (const scope of requirement['bearer'] ?? []) scopes.add(scope);
  const schemes = (components as { securitySchemes?: Schema }).securitySchemes;
  if (schemes?.['bearer'] !== undefined) {
    (components as { securitySchemes?: Schema }).securitySchemes = {
      ...schemes,
      bearer: {
        type: 'oauth2',
        description:
          'OAuth2 client credentials (RFC 6749 §4.4): an access token (a JWT) from `POST /oauth/token`, sent as `Authorization: Bearer …`; metadata at `/.well-known/oauth-authorization-server`.',
        flows: {
          clientCredentials: {
            tokenUrl: '/oauth/token',
            scopes: Object.fromEntries([...scopes].sort().map((scope) => [scope, `The \`${scope}\` scope.`])),
          },
        },
      },
    };
  }
  return {
    ...document,
    info: { ...document.info, license: { name: 'MIT', identifier: 'MIT' } },
    servers:
      document.servers !== undefined && document.servers.length > 0 ? document.servers : [{ url: '/' }],
    components,
    paths,
  };
}
