// TypeBox schemas of the payments API: they validate requests and feed the OpenAPI document.
import { Type } from 'typebox';
import { emailAddressLengthMax, emailAddressPattern, phoneNumberPattern } from '../../../platform/contact.ts';
import { amountMaxMinor } from '../../../platform/money.ts';
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

export const ListQuery = Type.Object(
  {
    status: Type.Optional(Type.Union(paymentStatuses.map((status) => Type.Literal(status)))),
    createdFrom: Type.Optional(Type.String({ format: 'date-time' })),
    createdTo: Type.Optional(Type.String({ format: 'date-time' })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: '1 to 100, default 20.' })),
  },
  { additionalProperties: false },
);

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({ description: 'Required: 1 to 255 visible ASCII characters, unique per request.' }),
  ),
});
