// Every error leaves PayFlow as RFC 9457 `application/problem+json` with a stable `code`. Fastify's own
// errors (validation, body parsing, size limits) are translated here; anything unexpected becomes a
// 500 whose detail names only the request id, never a message or stack from inside the process.
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { maskCardNumbers } from '../log.ts';
import { isDatabaseUnavailable } from '../db/client.ts';
import { DomainError, problem, problemContentType, type FieldError, type ProblemDetails } from '../errors.ts';
import type { ErrorCode, StatusOf } from '../error-codes.ts';

interface FastifyErrorMapping {
  readonly status: StatusOf<ErrorCode>;
  readonly code: ErrorCode;
  readonly detail: string;
}

const fastifyErrors: Readonly<Record<string, FastifyErrorMapping>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    code: 'body_too_large',
    detail: 'The request body is larger than allowed.',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'unsupported_media_type',
    detail: 'Send the body as application/json.',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: {
    status: 400,
    code: 'malformed_json',
    detail: 'The body is not valid JSON.',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    code: 'malformed_json',
    detail: 'The body is empty but its content type is application/json.',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    code: 'invalid_content_length',
    detail: 'The Content-Length header does not match the body.',
  },
  FST_ERR_MAX_PARAM_LENGTH: {
    status: 414,
    code: 'path_too_long',
    detail: 'A path parameter is longer than allowed.',
  },
  FST_ERR_BAD_URL: {
    status: 400,
    code: 'malformed_url',
    detail: 'The request path is not a valid URL.',
  },
};

/**
 * Errors Node's HTTP parser raises before a request exists (oversized headers, a request that never
 * finished, bytes that are not HTTP): answered on the socket as problem+json, echoing nothing.
 */
const socketErrors: Readonly<Record<string, FastifyErrorMapping>> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    code: 'headers_too_large',
    detail: 'The request headers are larger than allowed.',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    code: 'request_timeout',
    detail: 'The request was not received in time.',
  },
};

const malformedRequest: FastifyErrorMapping = {
  status: 400,
  code: 'malformed_request',
  detail: 'The request is not valid HTTP.',
};

/** Fastify's `clientErrorHandler`: the socket-level twin of the error handler below. */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const mapped = (error.code ? socketErrors[error.code] : undefined) ?? malformedRequest;
  if (socket.writable) {
    const body = JSON.stringify(problem<ErrorCode>(mapped.status, mapped.code, mapped.detail));
    socket.write(
      `HTTP/1.1 ${mapped.status} ${STATUS_CODES[mapped.status] ?? 'Error'}\r\n` +
        `Content-Type: ${problemContentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Connection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

function validationErrors(error: FastifyError): FieldError[] {
  return (error.validation ?? []).map((item) => {
    const missing = (item.params as { missingProperty?: unknown } | undefined)?.missingProperty;
    const base = item.instancePath === '' ? '' : item.instancePath;
    const path = typeof missing === 'string' ? `${base}/${missing}` : base || '/';
    return { path: `${error.validationContext ?? 'body'}${path}`, message: item.message ?? 'is invalid' };
  });
}

/** Maps any thrown value to problem details and the log level it deserves. */
export function toProblem(
  error: unknown,
  requestId: string,
): { body: ProblemDetails; headers: Record<string, string>; serverFault: boolean } {
  if (error instanceof DomainError) {
    return {
      body: { ...problem(error.status, error.code, error.message, error.extensions), requestId },
      headers: { ...error.headers },
      serverFault: error.status >= 500,
    };
  }
  if (isDatabaseUnavailable(error)) {
    // The database is down or restarting: a retry may succeed, and nothing was half-written (every
    // state change is one transaction). Logged as a server fault, answered without internals.
    return {
      body: {
        ...problem(503, 'database_unavailable', 'The database is unavailable. Retry shortly.'),
        requestId,
      },
      headers: { 'Retry-After': '1' },
      serverFault: true,
    };
  }
  const fastifyError = error as Partial<FastifyError>;
  if (fastifyError.validation) {
    const errors = validationErrors(fastifyError as FastifyError);
    const detail = errors.map((item) => `${item.path} ${item.message}`).join('; ');
    return {
      body: { ...problem(400, 'validation_failed', detail, { errors }), requestId },
      headers: {},
      serverFault: false,
    };
  }
  const mapped = fastifyError.code ? fastifyErrors[fastifyError.code] : undefined;
  if (mapped) {
    return {
      body: { ...problem<ErrorCode>(mapped.status, mapped.code, mapped.detail), requestId },
      headers: {},
      serverFault: false,
    };
  }
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // A client error raised by Fastify or a plugin that has no mapping yet: keep its status, not its text.
    return {
      body: {
        ...problem(status as StatusOf<'bad_request'>, 'bad_request', 'The request could not be processed.'),
        requestId,
      },
      headers: {},
      serverFault: false,
    };
  }
  return {
    body: {
      ...problem(500, 'internal_error', `Something went wrong on our side. Quote request id ${requestId}.`),
      requestId,
    },
    headers: {},
    serverFault: true,
  };
}

export function sendProblem(
  reply: FastifyReply,
  body: ProblemDetails,
  headers: Record<string, string> = {},
): FastifyReply {
  return reply.code(body.status).headers(headers).type(problemContentType).send(body);
}

export function registerProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { body, headers, serverFault } = toProblem(error, request.id);
    if (serverFault) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: body.code, status: body.status }, 'request rejected');
    return sendProblem(reply, body, headers);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, {
      ...problem(
        404,
        'route_not_found',
        `No route ${request.method} ${maskCardNumbers((request.url.split('?')[0] ?? '').slice(0, 200))}.`,
      ),
      requestId: request.id,
    }),
  );
}
