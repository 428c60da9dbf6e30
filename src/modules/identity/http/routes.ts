// The token endpoint (RFC 6749 §4.4, form or JSON body, client auth by HTTP Basic or body) and the
// JWKS document (RFC 7517) other services use to verify PayFlow tokens.
import formbody from '@fastify/formbody';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { HttpApp } from '../../../platform/http/app.ts';
import { DomainError } from '../../../platform/errors.ts';
import { sendProblem, toProblem } from '../../../platform/http/problem-handler.ts';
import { principalOf, requireScopes, type RequestAuthenticator } from '../../../platform/http/auth.ts';
import { issueToken, type TokenRequest } from '../application/issue-token.ts';
import { oauthError } from '../domain/oauth-errors.ts';
import { scopesByRole } from '../domain/scopes.ts';
import type { IdentityDependencies } from '../infra/dependencies.ts';
import { listSigningKeys } from '../infra/identity-repository.ts';
import { publicJwkOf } from '../infra/key-ring.ts';

const TokenRequestBody = Type.Object(
  {
    grant_type: Type.Optional(Type.String({ maxLength: 100 })),
    scope: Type.Optional(Type.String({ maxLength: 2000 })),
    client_id: Type.Optional(Type.String({ maxLength: 200 })),
    client_secret: Type.Optional(Type.String({ maxLength: 400 })),
  },
  { description: 'application/x-www-form-urlencoded (RFC 6749) or application/json' },
);

const AuthorizationServerMetadataBody = Type.Object({
  issuer: Type.String(),
  token_endpoint: Type.String(),
  jwks_uri: Type.String(),
  grant_types_supported: Type.Array(Type.String()),
  response_types_supported: Type.Array(Type.String()),
  token_endpoint_auth_methods_supported: Type.Array(Type.String()),
  scopes_supported: Type.Array(Type.String()),
  service_documentation: Type.String(),
});

const TokenResponseBody = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  scope: Type.String(),
});

const JwkSetBody = Type.Object({
  keys: Type.Array(
    Type.Object({
      kty: Type.String(),
      crv: Type.String(),
      x: Type.String(),
      y: Type.Optional(Type.String()),
      kid: Type.String(),
      alg: Type.String(),
      use: Type.String(),
    }),
  ),
});

type TokenBody = { grant_type?: string; scope?: string; client_id?: string; client_secret?: string };

// eslint-disable-next-line no-control-regex -- the point is to find control characters
const controlCharacter = /[\u0000-\u001f\u007f]/;

/** Client credentials from HTTP Basic (RFC 6749 §2.3.1: form-encoded, then base64) or the body. */
export function clientCredentialsOf(
  authorization: string | undefined,
  body: TokenBody,
): { clientId: string | undefined; clientSecret: string | undefined } {
  // PostgreSQL refuses NUL in text: a parameter carrying one is malformed, never a database error.
  for (const value of [body.grant_type, body.scope, body.client_id, body.client_secret]) {
    if (value !== undefined && controlCharacter.test(value))
      throw oauthError('invalid_request', 'Token request parameters cannot contain control characters.');
  }
  if (authorization === undefined) return { clientId: body.client_id, clientSecret: body.client_secret };
  const match = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(authorization);
  if (!match) throw oauthError('invalid_client', 'Client authentication failed.');
  if (body.client_secret !== undefined)
    throw oauthError('invalid_request', 'Authenticate the client with one method only.');
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw oauthError('invalid_client', 'Client authentication failed.');
  try {
    const clientId = decodeURIComponent(decoded.slice(0, colon).replaceAll('+', ' '));
    const secret = decodeURIComponent(decoded.slice(colon + 1).replaceAll('+', ' '));
    if (controlCharacter.test(clientId) || controlCharacter.test(secret))
      throw oauthError('invalid_client', 'Client authentication failed.');
    if (body.client_id !== undefined && body.client_id !== clientId)
      throw oauthError('invalid_request', 'client_id in the body differs from HTTP Basic.');
    return { clientId, clientSecret: secret === '' ? undefined : secret };
  } catch (error) {
    if (error instanceof URIError) throw oauthError('invalid_client', 'Client authentication failed.');
    throw error;
  }
}

export async function registerIdentityRoutes(
  app: HttpApp,
  dependencies: IdentityDependencies,
): Promise<void> {
  await app.register(async (scope) => {
    // Form bodies only here: the rest of the API speaks JSON.
    await scope.register(formbody, { bodyLimit: 16_384 });
    // RFC 6749 §5.2: token errors are application/json with `error` (strict OAuth clients read no
    // other media type); the problem members stay in the body for everyone else.
    scope.setErrorHandler((error, request, reply) => {
      const { body, headers, serverFault } = toProblem(error, request.id);
      if (serverFault) request.log.error({ err: error }, 'request failed');
      if (!(error instanceof DomainError) || typeof error.extensions['error'] !== 'string')
        return sendProblem(reply, body, headers);
      return reply
        .code(body.status)
        .headers(headers)
        .type('application/json; charset=utf-8')
        .send({ error: body['error'], error_description: body['error_description'], ...body });
    });
    scope.post(
      '/oauth/token',
      {
        schema: {
          tags: ['identity'],
          summary: 'Get an access token (OAuth 2.0 client credentials)',
          body: TokenRequestBody,
          response: { 200: TokenResponseBody },
        },
        // Malformed parameters are an RFC 6749 invalid_request, not a generic validation problem.
        attachValidation: true,
      },
      async (request: FastifyRequest<{ Body: TokenBody }>, reply) => {
        if (request.validationError)
          throw oauthError('invalid_request', 'Each token request parameter must appear once, as text.');
        const body = request.body ?? {};
        const credentials = clientCredentialsOf(request.headers.authorization, body);
        const tokenRequest: TokenRequest = {
          grantType: body.grant_type,
          clientId: credentials.clientId,
          clientSecret: credentials.clientSecret,
          scope: body.scope,
        };
        const token = await issueToken(dependencies, tokenRequest);
        reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
        return token;
      },
    );
  });
  app.get(
    '/.well-known/oauth-authorization-server',
    {
      schema: {
        tags: ['identity'],
        summary: 'Authorization server metadata (RFC 8414)',
        response: { 200: AuthorizationServerMetadataBody },
      },
    },
    async (request, reply) => {
      const base = `${request.protocol}://${request.host}`;
      reply.header('cache-control', 'public, max-age=300');
      return {
        issuer: dependencies.settings.issuer,
        token_endpoint: `${base}/oauth/token`,
        jwks_uri: `${base}/.well-known/jwks.json`,
        grant_types_supported: ['client_credentials'],
        response_types_supported: [],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
        scopes_supported: [...new Set(Object.values(scopesByRole).flat())],
        service_documentation: `${base}/docs`,
      };
    },
  );
  app.get(
    '/.well-known/jwks.json',
    {
      schema: {
        tags: ['identity'],
        summary: 'Public keys that verify PayFlow access tokens (JWKS)',
        response: { 200: JwkSetBody },
      },
    },
    async (_request, reply) => {
      const now = dependencies.clock.now().getTime();
      const keys = (await listSigningKeys(dependencies.sql))
        .filter((key) => key.status !== 'retired' && (!key.notAfter || key.notAfter.getTime() > now))
        .map(publicJwkOf);
      reply.header('cache-control', 'public, max-age=60');
      return { keys };
    },
  );
}

const PrincipalBody = Type.Object({
  clientId: Type.String(),
  role: Type.String(),
  merchantId: Type.Union([Type.String(), Type.Null()]),
  scopes: Type.Array(Type.String()),
});

const SigningKeyList = Type.Object({
  data: Type.Array(
    Type.Object({
      kid: Type.String(),
      algorithm: Type.String(),
      status: Type.String(),
      createdAt: Type.String(),
      notAfter: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
});

export function registerAccessRoutes(
  app: HttpApp,
  dependencies: IdentityDependencies,
  authenticator: RequestAuthenticator,
): void {
  app.get(
    '/v1/identity/whoami',
    {
      schema: {
        tags: ['identity'],
        summary: 'The caller as its access token describes it',
        security: [{ bearer: [] }],
        response: { 200: PrincipalBody },
      },
      preHandler: requireScopes(authenticator),
    },
    async (request) => {
      const principal = principalOf(request);
      return {
        clientId: principal.clientId,
        role: principal.role,
        merchantId: principal.merchantId ?? null,
        scopes: [...principal.scopes],
      };
    },
  );
  app.get(
    '/v1/admin/signing-keys',
    {
      schema: {
        tags: ['identity'],
        summary: 'Token-signing keys and their rotation state (admin)',
        security: [{ bearer: [] }],
        response: { 200: SigningKeyList },
      },
      preHandler: requireScopes(authenticator, 'admin:keys'),
    },
    async () => ({
      data: (await listSigningKeys(dependencies.sql)).map((key) => ({
        kid: key.kid,
        algorithm: key.algorithm,
        status: key.status,
        createdAt: key.createdAt.toISOString(),
        notAfter: key.notAfter?.toISOString() ?? null,
      })),
    }),
  );
}
