// TypeBox schemas of the payments API: they validate requests and feed the OpenAPI document.
import { Type } from 'typebox';
import { emailAddressLengthMax, emailAddressPattern, phoneNumberPattern } from '../../../platform/contact.ts';
import { amountMaxMinor, totalSchema } from '../../../platform/money.ts';
import { paymentStatuses } from '../domain/payment-state.ts';

export const metadataKeysMax = 20;
export const metadataKeyLengthMax = 40;
export const metadataValueLengthMax = 500;
/** Ids as src/platform/ids.ts makes them; anything else (a NUL, a card number) never reaches SQL. */
export const paymentIdPattern = '^pay_[0-9a-z]{26}$';
export const tokenIdPattern = '^tok_[0-9a-z]{26}$';
/**
 * Metadata is at most this many bytes as UTF-8 JSON: well under the 8192-byte `pg_column_size` check
 * on the metadata columns (jsonb is never much larger than its JSON text), so metadata the API
 * accepts is always stored (checked in the routes: JSON Schema cannot bound bytes).
 */
export const metadataBytesMax = 4096;

const Amount = Type.Integer({
  minimum: 1,
  maximum: Number(amountMaxMinor),
  description: `Minor units (cents), an integer from 1 to ${amountMaxMinor}.`,
});

export const Metadata = Type.Record(
  Type.String({ minLength: 1, maxLength: metadataKeyLengthMax }),
  Type.Union([
    Type.String({ maxLength: metadataValueLengthMax }),
    Type.Number(),
    Type.Boolean(),
    Type.Null(),
  ]),
  {
    maxProperties: metadataKeysMax,
    description: `At most ${metadataKeysMax} keys of up to ${metadataKeyLengthMax} characters; values are strings (≤ ${metadataValueLengthMax} characters), numbers, booleans or null; at most ${metadataBytesMax} bytes as UTF-8 JSON (400 \`invalid_metadata\`).`,
  },
);

export const AuthorizeBody = Type.Object(
  {
    amount: Amount,
    currency: Type.String({ minLength: 3, maxLength: 3, description: 'ISO 4217 code, uppercase.' }),
    paymentMethod: Type.Object(
      {
        type: Type.Union([Type.Literal('card'), Type.Literal('wallet'), Type.Literal('bank_redirect')]),
        token: Type.Optional(
          Type.String({ pattern: tokenIdPattern, description: 'A vault token (`POST /tokens`).' }),
        ),
        returnUrl: Type.Optional(
          Type.String({
            maxLength: 2048,
            pattern: '^https?://[^\\s\\u0000-\\u001f\\u007f]+$',
            description: 'bank_redirect: where the bank page sends the payer back.',
          }),
        ),
      },
      { additionalProperties: false },
    ),
    capture: Type.Optional(
      Type.Boolean({
        description:
          'true: capture the whole authorization as soon as it is approved. Card and wallet: authorize and capture in one call (201 CAPTURED). bank_redirect: 202 REQUIRES_ACTION as usual; once the payer approves, PayFlow captures by itself (the payment shows AUTHORIZED with `pendingOperation: capture` until the acquirer confirms, then CAPTURED with `payment.captured.v1`; meanwhile a capture or void is 409 `payment_operation_in_progress`).',
      }),
    ),
    metadata: Type.Optional(Metadata),
    receiptEmail: Type.Optional(
      Type.String({
        maxLength: emailAddressLengthMax,
        pattern: emailAddressPattern,
        description: "The payer's email address: a receipt is sent there once the payment is captured.",
      }),
    ),
    receiptPhone: Type.Optional(
      Type.String({
        pattern: phoneNumberPattern,
        description:
          "The payer's phone number in E.164 (`+447700900123`): a receipt SMS is sent there once captured.",
      }),
    ),
    payer: Type.Optional(
      Type.Object(
        {
          email: Type.Optional(
            Type.String({ maxLength: emailAddressLengthMax, pattern: emailAddressPattern }),
          ),
          ipAddress: Type.Optional(
            Type.String({
              maxLength: 45,
              pattern: '^[0-9A-Fa-f:.]{2,45}$',
              description: "The payer's IP address as the merchant's checkout saw it (IPv4 or IPv6).",
            }),
          ),
          billingCountry: Type.Optional(
            Type.String({ pattern: '^[A-Za-z]{2}$', description: 'ISO 3166-1 alpha-2.' }),
          ),
        },
        {
          additionalProperties: false,
          description:
            "What the fraud screening knows of the payer (ADR 21): velocity per email and IP, the IP and billing country against the card's. Kept by the fraud module only, never in events.",
        },
      ),
    ),
  },
  { additionalProperties: false },
);

export const CaptureBody = Type.Object(
  { amount: Type.Optional(Amount), metadata: Type.Optional(Metadata) },
  { additionalProperties: false },
);

export const RefundBody = Type.Object(
  {
    amount: Type.Optional(Amount),
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9_]+$' })),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
);

export const VoidBody = Type.Object({ metadata: Type.Optional(Metadata) }, { additionalProperties: false });

export const PaymentParams = Type.Object({
  id: Type.String({
    pattern: paymentIdPattern,
    description: 'A payment id (`pay_` and 26 base32 characters).',
  }),
});

const minorUnitsQuery = (description: string) =>
  Type.String({
    pattern: '^[0-9]{1,11}$',
    description: `${description} In minor units of the payment's currency.`,
  });

/** The search both the list and the CSV export take. */
const filterFields = {
  status: Type.Optional(Type.Union(paymentStatuses.map((status) => Type.Literal(status)))),
  method: Type.Optional(
    Type.Union([Type.Literal('card'), Type.Literal('wallet'), Type.Literal('bank_redirect')]),
  ),
  currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$' })),
  createdFrom: Type.Optional(Type.String({ format: 'date-time', description: 'Inclusive.' })),
  createdTo: Type.Optional(Type.String({ format: 'date-time', description: 'Exclusive.' })),
  amountMin: Type.Optional(minorUnitsQuery('At least this amount.')),
  amountMax: Type.Optional(minorUnitsQuery('At most this amount.')),
  last4: Type.Optional(
    Type.String({ pattern: '^[0-9]{4}$', description: 'The last 4 digits of the card or wallet.' }),
  ),
  email: Type.Optional(
    Type.String({
      minLength: 3,
      maxLength: emailAddressLengthMax,
      description: 'The receipt email, any case.',
    }),
  ),
  reference: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      description: 'The payment id, or any metadata value equal to it (an order id, an invoice number).',
    }),
  ),
};

export const ListQuery = Type.Object(
  {
    ...filterFields,
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: '1 to 100, default 20.' })),
  },
  { additionalProperties: false },
);

export const ExportQuery = Type.Object(filterFields, { additionalProperties: false });

export const VolumeQuery = Type.Object(
  { days: Type.Optional(Type.String({ pattern: '^[0-9]{1,2}$', description: '1 to 90, default 14.' })) },
  { additionalProperties: false },
);

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({ description: 'Required: 1 to 255 visible ASCII characters, unique per request.' }),
  ),
});

// The answers, for the OpenAPI document only (`documentedResponses` is not used to serialize: the
// application builds the bodies). One payment's amounts are integers in minor units; sums (the
// volume) are decimal strings (ADR 27).
const amount = Type.Integer({ description: 'Minor units of `currency`.' });
const PaymentDocument = Type.Object(
  {
    paymentId: Type.String({ pattern: paymentIdPattern }),
    status: Type.Union(paymentStatuses.map((status) => Type.Literal(status))),
    amount,
    currency: Type.String({ pattern: '^[A-Z]{3}$' }),
    paymentMethod: Type.Object({ type: Type.String(), token: Type.Optional(Type.String()) }),
    authorizedAmount: amount,
    capturedAmount: amount,
    refundedAmount: amount,
    declineCode: Type.Optional(Type.String()),
    nextAction: Type.Optional(Type.Object({ type: Type.String(), redirectUrl: Type.String() })),
    pendingOperation: Type.Optional(Type.String()),
    metadata: Type.Record(Type.String(), Type.String()),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: true },
);
// The short answers of authorize, capture and void (GET /payments/{id} has the whole payment).
const paymentStatus = Type.Union(paymentStatuses.map((status) => Type.Literal(status)));
const AuthorizationDocument = Type.Object(
  {
    paymentId: Type.String({ pattern: paymentIdPattern }),
    status: paymentStatus,
    amount,
    currency: Type.String({ pattern: '^[A-Z]{3}$' }),
    authorizedAmount: Type.Optional(amount),
    capturedAmount: Type.Optional(amount),
    review: Type.Optional(
      Type.String({ description: '`pending` while fraud screening holds it for review.' }),
    ),
    nextAction: Type.Optional(Type.Object({ type: Type.String(), redirectUrl: Type.String() })),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: true },
);
const nullableTime = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);
const OperationDocument = Type.Object(
  {
    paymentId: Type.String({ pattern: paymentIdPattern }),
    status: paymentStatus,
    capturedAmount: Type.Optional(amount),
    capturedAt: Type.Optional(nullableTime),
    captureAmount: Type.Optional(amount),
    voidedAt: Type.Optional(nullableTime),
    detail: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
const withAnswer = (
  schema: typeof AuthorizationDocument | typeof OperationDocument,
  description: string,
) => ({
  description,
  content: { 'application/json': { schema } },
});
const RefundDocument = Type.Object(
  {
    refundId: Type.String(),
    paymentId: Type.String({ pattern: paymentIdPattern }),
    status: Type.Union([Type.Literal('PENDING'), Type.Literal('REFUNDED'), Type.Literal('FAILED')]),
    refundedAmount: amount,
    currency: Type.String(),
    paymentStatus: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});
const withPayment = (description: string) => ({
  description,
  content: { 'application/json': { schema: PaymentDocument } },
});

const UnresolvedDocument = Type.Object({
  paymentId: Type.String({ pattern: paymentIdPattern }),
  resourceId: Type.String({ description: 'The payment, or the refund of a `refund` operation.' }),
  merchantId: Type.String(),
  operation: Type.Union(['authorize', 'capture', 'refund', 'void'].map((kind) => Type.Literal(kind))),
  amount,
  currency: Type.String({ pattern: '^[A-Z]{3}$' }),
  paymentStatus,
  inquiries: Type.Integer({ description: 'Inquiries the schedule made, all unanswered.' }),
  createdAt: Type.String({ format: 'date-time' }),
  lastInquiryAt: Type.String({ format: 'date-time' }),
});

export const documented = {
  unresolved: {
    200: {
      description:
        'Operations whose acquirer outcome stayed unknown past the whole inquiry schedule, oldest first (at most 200).',
      content: { 'application/json': { schema: Type.Object({ data: Type.Array(UnresolvedDocument) }) } },
    },
  },
  resolve: {
    200: {
      description:
        'Resolved: `answer` is what the idempotency key now answers a client retry (status and body), `payment` the payment after it.',
      content: {
        'application/json': {
          schema: Type.Object({
            resourceId: Type.String(),
            operation: Type.String(),
            answer: Type.Object({ status: Type.Integer(), body: Type.Record(Type.String(), Type.Unknown()) }),
            payment: PaymentDocument,
          }),
        },
      },
    },
    409: problem('`payment_not_awaiting_resolution`: nothing of it waits for an operator.'),
    503: problem('`acquirer_outcome_unknown`: the acquirer did not answer the inquiry; nothing changed.'),
  },
  erasePayerData: {
    204: { description: 'Erased (or nothing was left to erase).' },
    404: problem('`payment_not_found`.'),
  },
  authorize: {
    201: withAnswer(AuthorizationDocument, 'AUTHORIZED, or CAPTURED with `capture: true`.'),
    202: withAnswer(
      AuthorizationDocument,
      'PENDING (the acquirer has not answered: the janitor finishes it) or REQUIRES_ACTION (`nextAction.redirectUrl`).',
    ),
    400: problem('`validation_failed`, `idempotency_key_required`, `invalid_metadata`, `invalid_unicode`, …'),
    409: problem(
      '`idempotency_key_reused` (same key, another body), `idempotency_key_in_use` (with `Retry-After`).',
    ),
    422: problem(
      'Declined: `card_declined`, `insufficient_funds`, …; the FAILED payment is in `paymentId` and `paymentStatus`.',
    ),
  },
  capture: {
    200: withAnswer(OperationDocument, 'CAPTURED.'),
    202: withAnswer(OperationDocument, 'The acquirer has not answered yet.'),
    404: problem('`payment_not_found`.'),
    409: problem('`already_captured`, `payment_voided`, `payment_operation_in_progress`, …'),
    422: problem('`capture_exceeds_authorized`, or declined by the acquirer.'),
  },
  refund: {
    200: { description: 'REFUNDED.', content: { 'application/json': { schema: RefundDocument } } },
    202: {
      description: 'The acquirer has not answered yet.',
      content: { 'application/json': { schema: RefundDocument } },
    },
    404: problem('`payment_not_found`.'),
    409: problem('`refund_exceeds_captured`, `payment_not_captured`, …'),
    422: problem('Declined by the acquirer.'),
  },
  void: {
    200: withAnswer(OperationDocument, 'VOIDED.'),
    202: withAnswer(OperationDocument, 'The acquirer has not answered yet.'),
    404: problem('`payment_not_found`.'),
    409: problem('`already_captured`, `payment_voided`, …'),
  },
  get: {
    200: withPayment('The payment with `ledgerBalance`, `ledgerHold` and `ledgerEntries` from the ledger.'),
    404: problem('`payment_not_found` (also for another merchant’s payment).'),
  },
  refunds: {
    200: {
      description: 'The refunds of the payment.',
      content: { 'application/json': { schema: Type.Object({ data: Type.Array(RefundDocument) }) } },
    },
    404: problem('`payment_not_found`.'),
  },
  timeline: {
    200: {
      description:
        'Oldest first: `created`, `screened` (the fraud decision in `detail`), `authorized`, `captured`, `voided`, `expired`, `failed` (the decline code in `detail`), `operation_pending`, and per refund `refund_requested` then `refunded` or `refund_failed`. Amounts in minor units of `currency`.',
      content: {
        'application/json': {
          schema: Type.Object({
            paymentId: Type.String({ pattern: paymentIdPattern }),
            currency: Type.String({ pattern: '^[A-Z]{3}$' }),
            data: Type.Array(
              Type.Object({
                type: Type.String(),
                at: Type.String({ format: 'date-time' }),
                amount: Type.Optional(amount),
                refundId: Type.Optional(Type.String()),
                detail: Type.Optional(Type.String()),
              }),
            ),
          }),
        },
      },
    },
    404: problem('`payment_not_found` (also for another merchant’s payment).'),
  },
  volume: {
    200: {
      description:
        'UTC days from `from` to `to` (today), per currency with payments: each day its payments created (`count`), how many were authorized and how many captured, and the amounts captured and refunded on them so far (sums: decimal strings of minor units, ADR 27); days without payments are zeros.',
      content: {
        'application/json': {
          schema: Type.Object({
            from: Type.String({ format: 'date' }),
            to: Type.String({ format: 'date' }),
            currencies: Type.Array(
              Type.Object({
                currency: Type.String(),
                days: Type.Array(
                  Type.Object({
                    date: Type.String({ format: 'date' }),
                    count: Type.Integer(),
                    authorizedCount: Type.Integer({
                      description:
                        'Of the day’s payments, how many the acquirer authorized: the approval rate is this over `count`.',
                    }),
                    capturedCount: Type.Integer(),
                    capturedAmount: totalSchema('Captured on the day’s payments so far.'),
                    refundedAmount: totalSchema('Refunded on the day’s payments so far.'),
                  }),
                ),
              }),
            ),
          }),
        },
      },
    },
    400: problem('`validation_failed`.'),
  },
  export: {
    200: {
      description:
        'Newest first, streamed: one line per payment (`payment_id, created_at, status, method, card_brand, card_last4, currency, amount, authorized_amount, captured_amount, refunded_amount, decline_code, risk_decision, risk_score, review`). Amounts are exact decimal strings in major units (`12.50`, `1500` for JPY); cards as brand and last 4 only.',
      content: { 'text/csv': { schema: Type.String() } },
    },
    400: problem('`validation_failed`.'),
    422: problem('`search_too_broad` (too many cards end in those 4 digits).'),
  },
  list: {
    200: {
      description:
        'Newest first; each payment with `card: {brand, last4}` when it was paid with a card or wallet.',
      content: {
        'application/json': {
          schema: Type.Object({
            data: Type.Array(PaymentDocument),
            nextCursor: Type.Optional(Type.String()),
          }),
        },
      },
    },
    400: problem('`validation_failed`, `invalid_cursor`.'),
    422: problem('`search_too_broad` (too many cards end in those 4 digits).'),
  },
};
