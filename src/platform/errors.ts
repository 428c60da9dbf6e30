// Expected failures are values with a stable `code`; this file is the one place that maps them to
// RFC 9457 problem details. The domain never imports HTTP: it returns or throws a DomainError and
// the HTTP edge turns it into `application/problem+json`.

import type { ErrorCode, StatusOf } from './error-codes.ts';

export type { ErrorCode } from './error-codes.ts';

export interface ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly code: ErrorCode;
  readonly detail?: string;
  readonly instance?: string;
  readonly requestId?: string;
  readonly errors?: readonly FieldError[];
  readonly [extension: string]: unknown;
}

export interface FieldError {
  readonly path: string;
  readonly message: string;
}

/**
 * An expected failure with a stable code (one of src/platform/error-codes.ts, with one of the
 * statuses listed there for it), an HTTP status and whether retrying can help.
 */
export class DomainError<Code extends ErrorCode = ErrorCode> extends Error {
  constructor(
    readonly code: Code,
    readonly status: StatusOf<Code>,
    message: string,
    readonly extensions: Readonly<Record<string, unknown>> = {},
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

const titles: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function problemTypeFor(code: string): string {
  return `urn:payflow:problem:${code}`;
}

export function problem<Code extends ErrorCode>(
  status: StatusOf<Code>,
  code: Code,
  detail: string,
  extensions: Readonly<Record<string, unknown>> = {},
): ProblemDetails {
  // RFC 9457's members come last: an extension never overwrites `status` (the HTTP status).
  return {
    ...extensions,
    type: problemTypeFor(code),
    title: titles[status] ?? 'Error',
    status,
    code,
    detail,
  };
}

export const problemContentType = 'application/problem+json; charset=utf-8';
