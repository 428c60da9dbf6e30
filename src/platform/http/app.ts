// The HTTP edge shared by every module: Fastify with request ids, JSON logs, the body cap, problem+json
// errors, and an OpenAPI 3.1 document generated from the same TypeBox schemas that validate requests.
import { randomUUID } from 'node:crypto';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
  type RawServerDefault,
} from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { createApiPaths, routeTemplateOf } from './api-paths.ts';
import { authenticateBeforeValidation, completeDocument, documentRoute } from './openapi.ts';
import type { Logger } from '../log.ts';
import {
  contextFrom,
  contextWithSpan,
  markSpanError,
  runInContext,
  SpanKind,
  startSpan,
  tracingEnabled,
  type Span,
} from '../tracing.ts';
import { registerJsonBodies } from './json-body.ts';
import { OneLinePerRequest } from './request-logging.ts';
import { answerClientError, registerProblemHandlers, toProblem, sendProblem } from './problem-handler.ts';

/** The Fastify instance modules register routes on: TypeBox schemas type the handlers. */
export type HttpApp = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface HttpAppOptions {
  readonly log: Logger;
  readonly bodyLimitBytes: number;
  readonly version: string;
  readonly publicBaseUrl?: string;
  /** PEM key and certificate: serve HTTPS instead of HTTP. */
  readonly https?: { readonly key: Buffer; readonly cert: Buffer };
  /** Fastify `trustProxy`: whose X-Forwarded-* headers to believe (behind a TLS-terminating proxy). */
  readonly trustProxy?: boolean | number | string;
  /**
   * Move every API route under `/v1` and keep its unversioned path answering as an alias (ADR 29,
   * src/platform/http/api-paths.ts). PayFlow's server turns it on; a bare app for a test need not.
   */
  readonly versionedApi?: boolean;
}

const requestIdHeader = 'x-request-id';
const acceptedRequestId = /^[A-Za-z0-9._:-]{1,64}$/;

function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && acceptedRequestId.test(header) ? header : randomUUID();
}

export async function createHttpApp(options: HttpAppOptions): Promise<HttpApp> {
  const apiPaths = options.versionedApi ? createApiPaths() : undefined;
  const app = Fastify({
    loggerInstance: options.log as FastifyBaseLogger,
    // One line per request at info ("request completed" with the request); "incoming request" at debug.
    logController: new OneLinePerRequest(),
    bodyLimit: options.bodyLimitBytes,
    requestIdHeader: false,
    genReqId: (request) => requestIdFrom(request.headers[requestIdHeader]),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true } },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 300 },
    return503OnClosing: true,
    clientErrorHandler: answerClientError,
    // Router errors (an over-long path parameter, a malformed URL) answer like every other error.
    frameworkErrors: (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
      reply.header(requestIdHeader, request.id);
      const { body, headers } = toProblem(error, request.id);
      return sendProblem(reply, body, headers);
    },
    trustProxy: options.trustProxy ?? false,
    ...(apiPaths ? { rewriteUrl: apiPaths.rewriteUrl } : {}),
    // The HTTPS server is an http.Server for every route and hook; the type stays RawServerDefault.
    ...(options.https ? { https: { key: options.https.key, cert: options.https.cert } } : {}),
  } as FastifyServerOptions).withTypeProvider<TypeBoxTypeProvider>() as unknown as HttpApp;
  // Before any route (and before @fastify/swagger's own onRoute hook) so that the document lists
  // the moved paths.
  if (apiPaths) app.addHook('onRoute', apiPaths.onRoute);
  app.addHook('onRoute', authenticateBeforeValidation);
  app.addHook('onRequest', async (request, reply) => {
    reply.header(requestIdHeader, request.id);
  });
  if (tracingEnabled()) traceRequests(app);
  registerProblemHandlers(app as unknown as FastifyInstance);
  registerJsonBodies(app as unknown as FastifyInstance);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'PayFlow API',
        version: options.version,
        description: 'Authorize, capture, refund and void payments on an append-only double-entry ledger.',
      },
      servers: options.publicBaseUrl ? [{ url: options.publicBaseUrl }] : [{ url: '/' }],
      components: {
        securitySchemes: {
          // Routes declare `security: [{ bearer: [] }]`; tokens come from POST /oauth/token.
          bearer: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description:
              'An access token from `POST /oauth/token` (OAuth2 client credentials, RFC 6749 §4.4; metadata at `/.well-known/oauth-authorization-server`).',
          },
          // Dashboard-only routes: the session cookie from POST /dashboard/api/session (changes
          // also need its X-CSRF-Token header).
          dashboardSession: { type: 'apiKey', in: 'cookie', name: 'payflow_session' },
        },
      },
    },
    transform: documentRoute as never,
    transformObject: ((object: { openapiObject: unknown }) =>
      completeDocument(object.openapiObject as never)) as never,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}

const requestSpans = new WeakMap<object, Span>();

/**
 * One server span per request (ADR 23), continuing an incoming `traceparent`; the rest of the
 * request's hooks and its handler run with it active, so their SQL, acquirer and outbox spans are
 * its children. Only installed when tracing is on.
 */
function traceRequests(app: HttpApp): void {
  app.addHook('onRequest', (request, reply, done) => {
    const incoming = request.headers['traceparent'];
    const state = request.headers['tracestate'];
    const parent = contextFrom(
      typeof incoming === 'string' ? incoming : undefined,
      typeof state === 'string' ? state : undefined,
    );
    const route = routeTemplateOf(request) ?? 'unmatched';
    const span = startSpan(`${request.method} ${route}`, {
      kind: SpanKind.SERVER,
      parent,
      attributes: {
        'http.request.method': request.method,
        'http.route': route,
        'payflow.request_id': request.id,
      },
    });
    if (!span) return done();
    requestSpans.set(request, span);
    // The request's own log lines (and Fastify's "request completed") name the trace.
    const { traceId, spanId } = span.spanContext();
    request.log = request.log.child({ trace_id: traceId, span_id: spanId });
    reply.log = request.log;
    runInContext(contextWithSpan(span, parent), () => done());
  });
  app.addHook('onResponse', (request, reply, done) => {
    const span = requestSpans.get(request);
    if (span) {
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) markSpanError(span, `HTTP ${reply.statusCode}`);
      span.end();
      requestSpans.delete(request);
    }
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    requestSpans.get(request)?.end();
    requestSpans.delete(request);
    done();
  });
}
