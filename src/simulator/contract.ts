// The simulator's wire contract: TypeBox schemas for every request body (validated by Fastify) and the
// TypeScript types of every answer. PayFlow's processor adapter imports these types through index.ts.
import { Type, type Static } from 'typebox';

/** Largest amount accepted, in minor units (nine digits, as Checkout.com caps it). */
export const amountMaximum = 999_999_999;

/** A client reference: visible ASCII, no spaces, so it can travel in a URL path once encoded. */
const Reference = Type.String({ minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$' });
const Amount = Type.Integer({ minimum: 1, maximum: amountMaximum });
const Currency = Type.String({ pattern: '^[A-Z]{3}$' });
const AccountNumber = Type.String({ pattern: '^[0-9]{12,19}$' });
const ExpiryMonth = Type.Integer({ minimum: 1, maximum: 12 });
const ExpiryYear = Type.Integer({ minimum: 2000, maximum: 2100 });

export const CardDetails = Type.Object(
  {
    number: AccountNumber,
    expMonth: ExpiryMonth,
    expYear: ExpiryYear,
    cvc: Type.Optional(Type.String({ pattern: '^[0-9]{3,4}$' })),
  },
  { additionalProperties: false },
);

export const WalletDetails = Type.Object(
  {
    type: Type.Union([Type.Literal('apple_pay'), Type.Literal('google_pay')]),
    networkToken: AccountNumber,
    cryptogram: Type.String({ minLength: 1, maxLength: 512 }),
    expMonth: ExpiryMonth,
    expYear: ExpiryYear,
  },
  { additionalProperties: false },
);

export const PaymentMethod = Type.Union([
  Type.Literal('card'),
  Type.Literal('wallet'),
  Type.Literal('bank_redirect'),
]);

export const AuthorizationRequest = Type.Object(
  {
    reference: Reference,
    amount: Amount,
    currency: Currency,
    method: PaymentMethod,
    card: Type.Optional(CardDetails),
    wallet: Type.Optional(WalletDetails),
    returnUrl: Type.Optional(Type.String({ maxLength: 2048, pattern: '^https?://[^\\s]+$' })),
  },
  { additionalProperties: false },
);

export const CaptureRequest = Type.Object(
  { reference: Reference, amount: Amount },
  { additionalProperties: false },
);
export const RefundRequest = Type.Object(
  { reference: Reference, amount: Amount },
  { additionalProperties: false },
);
export const VoidRequest = Type.Object({ reference: Reference }, { additionalProperties: false });

export const AuthorizationParameters = Type.Object({ authorizationId: Type.String({ maxLength: 64 }) });
export const ReferenceParameters = Type.Object({ reference: Reference });

export type CardDetails = Static<typeof CardDetails>;
export type WalletDetails = Static<typeof WalletDetails>;
export type PaymentMethod = Static<typeof PaymentMethod>;
export type AuthorizationRequest = Static<typeof AuthorizationRequest>;
export type CaptureRequest = Static<typeof CaptureRequest>;
export type RefundRequest = Static<typeof RefundRequest>;
export type VoidRequest = Static<typeof VoidRequest>;

export type AuthorizationStatus = 'approved' | 'declined' | 'requires_action' | 'error';
export type CaptureStatus = 'captured' | 'declined';
/** `pending` refunds end `refunded` or `failed`; an inquiry by reference shows which. */
export type RefundStatus = 'refunded' | 'pending' | 'failed' | 'declined';
export type VoidStatus = 'voided' | 'declined';

export interface AuthorizationAnswer {
  readonly reference: string;
  readonly authorizationId: string;
  readonly status: AuthorizationStatus;
  readonly declineCode?: string;
  readonly approvedAmount?: number;
  readonly currency: string;
  readonly method: PaymentMethod;
  /** Set while status is `requires_action`: the bank page the shopper must visit. */
  readonly redirectUrl?: string;
}

export interface CaptureAnswer {
  readonly reference: string;
  readonly authorizationId: string;
  readonly captureId: string;
  readonly status: CaptureStatus;
  readonly declineCode?: string;
  readonly amount: number;
}

export interface RefundAnswer {
  readonly reference: string;
  readonly authorizationId: string;
  readonly refundId: string;
  readonly status: RefundStatus;
  readonly declineCode?: string;
  readonly amount: number;
}

export interface VoidAnswer {
  readonly reference: string;
  readonly authorizationId: string;
  readonly voidId: string;
  readonly status: VoidStatus;
  readonly declineCode?: string;
}

export type OperationKind = 'authorization' | 'capture' | 'refund' | 'void';

/** What GET /v1/operations/{reference} returns: the operation's current stored answer plus its kind. */
export type OperationInquiry =
  | ({ readonly kind: 'authorization' } & AuthorizationAnswer)
  | ({ readonly kind: 'capture' } & CaptureAnswer)
  | ({ readonly kind: 'refund' } & RefundAnswer)
  | ({ readonly kind: 'void' } & VoidAnswer);

/** The JSON body the simulator POSTs to `notifyUrl` when an asynchronous outcome is decided. */
export interface OutcomeNotification {
  readonly kind: 'authorization' | 'refund';
  readonly reference: string;
  readonly authorizationId: string;
  readonly status: AuthorizationStatus | RefundStatus;
  readonly declineCode?: string;
}

/** Every error body has this shape; `error` is a stable code. */
export interface ErrorAnswer {
  readonly error:
    | 'invalid_request'
    | 'reference_mismatch'
    | 'reference_in_use'
    | 'unknown_reference'
    | 'unknown_authorization'
    | 'acquirer_unavailable'
    | 'simulator_full'
    | 'not_found'
    | 'body_too_large'
    | 'unsupported_media_type'
    | 'internal_error';
  readonly detail?: string;
}
