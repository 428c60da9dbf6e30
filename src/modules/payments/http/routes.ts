// The payments HTTP API (spec §6): every POST needs an Idempotency-Key and answers from the use case's
// ApiAnswer bytes, so a replay is byte for byte the first answer. Merchant from the token; another
// merchant's payment is 404.
import { withSpan } from '../../../platform/tracing.ts';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import { DomainError } from '../../../platform/errors.ts';
import type { HttpApp } from '../../../platform/http/app.ts';
import { erasePayerData } from '../application/erase-payer-data.ts';
import { merchantIdOf, requireScopes, type RequestAuthenticator } from '../../../platform/http/auth.ts';
import { parseCurrency } from '../../../platform/money.ts';
import { fingerprintOfRequest, requireIdempotencyKey, sendAnswer } from '../../../platform/idempotency.ts';
import { applyAcquirerNotification } from '../application/bank-redirect-outcome.ts';
import type { PaymentsDependencies } from '../application/dependencies.ts';
import {
  decodeCursor,
  getPayment,
  getPaymentTimeline,
  getRefunds,
  listMerchantPayments,
  type ListInput,
} from '../application/read-payments.ts';
import { exportPayments } from '../application/export-payments.ts';
import { registerOperatorPaymentRoutes } from './operator-routes.ts';
import { paymentVolume, volumeDaysDefault, volumeDaysMax } from '../application/payment-volume.ts';
import { authorizePayment, capturePayment, refundPayment, voidPayment } from '../application/operations.ts';
import type { PaymentStatus } from '../domain/payment-state.ts';
import {
  AuthorizeBody,
  CaptureBody,
  ExportQuery,
  IdempotencyHeaders,
  ListQuery,
  metadataBytesMax,
  PaymentParams,
  RefundBody,
  VoidBody,
  VolumeQuery,
  documented,
} from './schemas.ts';

export interface PaymentRoutesOptions {
  readonly authenticator: RequestAuthenticator;
  readonly dependencies: PaymentsDependencies;
  /** Shared secret of acquirer notifications; undefined refuses every notification. */
  readonly notifySecret: string | undefined;
}

export const listLimitMax = 100;
export const listLimitDefault = 20;
/** Notifications whose timestamp is further off than this are refused (Standard Webhooks). */
export const notificationToleranceSeconds = 300;

function currencyOf(value: string) {
  const parsed = parseCurrency(value);
  if (!parsed.ok) throw new DomainError(parsed.code, 400, parsed.message);
  return parsed.currency;
}

// PostgreSQL refuses NUL in text and jsonb; keys are names, so no control characters at all.
// eslint-disable-next-line no-control-regex -- the point is to find control characters
const keyForbidden = /[\u0000-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex -- the point is to find NUL
const valueForbidden = /\u0000/;

function checkMetadataKeys(metadata: Record<string, unknown> | undefined): Record<string, unknown> {
  if (metadata === undefined) return {};
  for (const [key, value] of Object.entries(metadata)) {
    if (keyForbidden.test(key) || (typeof value === 'string' && valueForbidden.test(value))) {
      throw new DomainError(
        'invalid_metadata',
        400,
        'metadata keys cannot contain control characters, nor values NUL (\\u0000).',
      );
    }
  }
  const bytes = Buffer.byteLength(JSON.stringify(metadata), 'utf8');
  if (bytes > metadataBytesMax) {
    throw new DomainError(
      'invalid_metadata',
      400,
      `metadata is ${bytes} bytes as JSON; at most ${metadataBytesMax} are allowed.`,
    );
  }
  return metadata;
}

function parseDate(value: string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new DomainError('validation_failed', 400, `${name} is not a date-time.`);
  return date;
}

/** The search of GET /payments and GET /payments.csv, parsed (the schema has checked the shapes). */
function filterOf(query: Static<typeof ExportQuery>): ListInput['filter'] {
  const createdFrom = parseDate(query.createdFrom, 'createdFrom');
  const createdTo = parseDate(query.createdTo, 'createdTo');
  return {
    ...(query.status !== undefined && { status: query.status as PaymentStatus }),
    ...(query.method !== undefined && { method: query.method }),
    ...(query.currency !== undefined && { currency: currencyOf(query.currency) }),
    ...(createdFrom !== undefined && { createdFrom }),
    ...(createdTo !== undefined && { createdTo }),
    ...(query.amountMin !== undefined && { amountMin: BigInt(query.amountMin) }),
    ...(query.amountMax !== undefined && { amountMax: BigInt(query.amountMax) }),
    ...(query.last4 !== undefined && { last4: query.last4 }),
    ...(query.email !== undefined && { email: query.email }),
    ...(query.reference !== undefined && { reference: query.reference }),
  };
}

function listLimit(raw: string | undefined): number {
  const limit = raw === undefined ? listLimitDefault : Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > listLimitMax) {
    throw new DomainError('validation_failed', 400, `limit must be an integer from 1 to ${listLimitMax}.`);
  }
  return limit;
}

export function registerPaymentRoutes(app: HttpApp, options: PaymentRoutesOptions): void {
  const { authenticator, dependencies } = options;
  const write = requireScopes(authenticator, 'payments:write');
  const read = requireScopes(authenticator, 'payments:read');
  const refunds = requireScopes(authenticator, 'refunds:write');
  const tags = ['payments'];
  registerOperatorPaymentRoutes(app, authenticator, dependencies);

  app.post(
    '/payments/authorize',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Authorize a payment',
        body: AuthorizeBody,
        headers: IdempotencyHeaders,
        idempotencyKey: 'required',
        documentedResponses: documented.authorize,
      },
    },
    async (request, reply) => {
      const key = requireIdempotencyKey(request.headers['idempotency-key']);
      const body = request.body;
      const result = await withSpan('payments.authorize', {}, () =>
        authorizePayment(dependencies, {
          merchantId: merchantIdOf(request),
          idempotencyKey: key,
          fingerprint: fingerprintOfRequest(request),
          amount: BigInt(body.amount),
          currency: currencyOf(body.currency),
          method: body.paymentMethod.type,
          token: body.paymentMethod.token,
          returnUrl: body.paymentMethod.returnUrl,
          capture: body.capture ?? false,
          metadata: checkMetadataKeys(body.metadata),
          receiptEmail: body.receiptEmail,
          receiptPhone: body.receiptPhone,
          payer: body.payer ?? {},
        }),
      );
      return sendAnswer(reply, result);
    },
  );

  app.post(
    '/payments/:id/capture',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Capture an authorized payment (all or part)',
        params: PaymentParams,
        body: CaptureBody,
        headers: IdempotencyHeaders,
        idempotencyKey: 'required',
        documentedResponses: documented.capture,
      },
    },
    async (request, reply) => {
      const key = requireIdempotencyKey(request.headers['idempotency-key']);
      const result = await withSpan('payments.capture', {}, () =>
        capturePayment(dependencies, {
          merchantId: merchantIdOf(request),
          paymentId: request.params.id,
          idempotencyKey: key,
          fingerprint: fingerprintOfRequest(request),
          amount: request.body?.amount === undefined ? undefined : BigInt(request.body.amount),
        }),
      );
      return sendAnswer(reply, result);
    },
  );

  app.post(
    '/payments/:id/refund',
    {
      preHandler: refunds,
      schema: {
        tags,
        summary: 'Refund a captured payment (all or part)',
        params: PaymentParams,
        body: RefundBody,
        headers: IdempotencyHeaders,
        idempotencyKey: 'required',
        documentedResponses: documented.refund,
      },
    },
    async (request, reply) => {
      const key = requireIdempotencyKey(request.headers['idempotency-key']);
      const body = request.body ?? {};
      const result = await withSpan('payments.refund', {}, () =>
        refundPayment(dependencies, {
          merchantId: merchantIdOf(request),
          paymentId: request.params.id,
          idempotencyKey: key,
          fingerprint: fingerprintOfRequest(request),
          amount: body.amount === undefined ? undefined : BigInt(body.amount),
          reason: body.reason,
          metadata: checkMetadataKeys(body.metadata),
        }),
      );
      return sendAnswer(reply, result);
    },
  );

  app.post(
    '/payments/:id/void',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Void an authorization',
        params: PaymentParams,
        body: VoidBody,
        headers: IdempotencyHeaders,
        idempotencyKey: 'required',
        documentedResponses: documented.void,
      },
    },
    async (request, reply) => {
      const key = requireIdempotencyKey(request.headers['idempotency-key']);
      const result = await withSpan('payments.void', {}, () =>
        voidPayment(dependencies, {
          merchantId: merchantIdOf(request),
          paymentId: request.params.id,
          idempotencyKey: key,
          fingerprint: fingerprintOfRequest(request),
        }),
      );
      return sendAnswer(reply, result);
    },
  );

  app.delete(
    '/payments/:id/payer-data',
    {
      preHandler: write,
      schema: {
        tags,
        summary: "Erase the payer's personal data from a payment",
        description:
          'Removes the receipt email and phone from the payment and the recipients from its receipts (a receipt not yet sent is not sent). Amounts, states and ledger entries stay. Repeating it changes nothing.',
        params: PaymentParams,
        documentedResponses: documented.erasePayerData,
      },
    },
    async (request, reply) => {
      await erasePayerData(dependencies, merchantIdOf(request), request.params.id);
      return reply.code(204).send();
    },
  );

  app.get(
    '/payments/:id',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'Read a payment with its ledger entries',
        params: PaymentParams,
        documentedResponses: documented.get,
      },
    },
    async (request) => getPayment(dependencies, merchantIdOf(request), request.params.id),
  );

  app.get(
    '/payments/:id/refunds',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'List the refunds of a payment',
        params: PaymentParams,
        documentedResponses: documented.refunds,
      },
    },
    async (request) => getRefunds(dependencies, merchantIdOf(request), request.params.id),
  );

  app.get(
    '/payments/:id/timeline',
    {
      preHandler: read,
      schema: {
        tags,
        summary: "A payment's timeline: its steps and its refunds', oldest first",
        params: PaymentParams,
        documentedResponses: documented.timeline,
      },
    },
    async (request) => getPaymentTimeline(dependencies, merchantIdOf(request), request.params.id),
  );

  app.get(
    '/payments',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'List and search payments',
        querystring: ListQuery,
        documentedResponses: documented.list,
      },
    },
    async (request) => {
      const query = request.query;
      const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
      if (query.cursor !== undefined && cursor === undefined)
        throw new DomainError('invalid_cursor', 400, 'The cursor is not one this API gave out.');
      return listMerchantPayments(dependencies, {
        merchantId: merchantIdOf(request),
        filter: filterOf(query),
        ...(cursor !== undefined && { cursor }),
        limit: listLimit(query.limit),
      });
    },
  );

  app.get(
    '/payments/volume',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'Payments per day of the last days, per currency (count, captured, refunded)',
        querystring: VolumeQuery,
        documentedResponses: documented.volume,
      },
    },
    async (request) => {
      const days = request.query.days === undefined ? volumeDaysDefault : Number(request.query.days);
      if (!Number.isInteger(days) || days < 1 || days > volumeDaysMax)
        throw new DomainError(
          'validation_failed',
          400,
          `days must be an integer from 1 to ${volumeDaysMax}.`,
        );
      return paymentVolume(dependencies, merchantIdOf(request), days);
    },
  );

  app.get(
    '/payments.csv',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'Export the payments a search finds as CSV',
        querystring: ExportQuery,
        documentedResponses: documented.export,
      },
    },
    async (request, reply) => {
      const lines = await exportPayments(dependencies, merchantIdOf(request), filterOf(request.query));
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="payments.csv"')
        .header('cache-control', 'no-store')
        .send(Readable.from(lines));
    },
  );

  registerNotificationRoute(app, options);
}

/** Standard Webhooks: `v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{raw body}`, compared in constant time. */
export function notificationSignatureValid(
  secret: string,
  headers: { id: string; timestamp: string; signature: string },
  rawBody: string,
): boolean {
  const expected = Buffer.from(
    `v1,${createHmac('sha256', secret).update(`${headers.id}.${headers.timestamp}.${rawBody}`).digest('base64')}`,
  );
  return headers.signature.split(' ').some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

function header(request: FastifyRequest, name: string): string {
  const value = request.headers[name];
  return typeof value === 'string' ? value : '';
}

function registerNotificationRoute(app: HttpApp, options: PaymentRoutesOptions): void {
  void app.register(async (scope) => {
    // The signature covers the raw bytes, so this route keeps the body as text.
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) =>
      done(null, body),
    );
    scope.post('/internal/acquirer/notifications', { schema: { hide: true } }, async (request, reply) => {
      const rawBody = typeof request.body === 'string' ? request.body : '';
      const headers = {
        id: header(request, 'webhook-id'),
        timestamp: header(request, 'webhook-timestamp'),
        signature: header(request, 'webhook-signature'),
      };
      const ageSeconds = Math.abs(Date.now() / 1000 - Number(headers.timestamp));
      const valid =
        options.notifySecret !== undefined &&
        Number.isFinite(ageSeconds) &&
        ageSeconds <= notificationToleranceSeconds &&
        notificationSignatureValid(options.notifySecret, headers, rawBody);
      if (!valid)
        throw new DomainError(
          'invalid_signature',
          401,
          'The notification signature is missing, stale or wrong.',
        );
      let reference: unknown;
      try {
        reference = (JSON.parse(rawBody) as { reference?: unknown }).reference;
      } catch {
        throw new DomainError('malformed_json', 400, 'The body is not valid JSON.');
      }
      if (typeof reference !== 'string' || reference.length > 255)
        throw new DomainError('validation_failed', 400, 'reference is required.');
      const result = await applyAcquirerNotification(options.dependencies, reference);
      // An outcome PayFlow could not confirm yet is refused so that the acquirer retries.
      return reply.code(result === 'unknown' ? 503 : 204).send();
    });
  });
}
