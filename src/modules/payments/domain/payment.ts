// The payment as the payments module stores it, the references the acquirer deduplicates on, and the
// API's answers, built from stored state only, so that a request, its retry and the janitor that
// finishes it all produce the same bytes.
import { amountToJson, type CurrencyCode } from '../../../platform/money.ts';
import type { PaymentStatus } from './payment-state.ts';
import { declineProblemCode, type ErrorCode, type StatusOf } from '../../../platform/error-codes.ts';
import { problem } from '../../../platform/errors.ts';

export type PaymentMethodType = 'card' | 'wallet' | 'bank_redirect';
export type PendingOperation = 'capture' | 'void';
/** A payment the fraud screening sent to review: `pending` refuses captures until approved or rejected. */
export type ReviewState = 'pending' | 'approved' | 'rejected';

/** The screening's decision as the payment keeps it (ADR 21); the same shape as payments' PaymentRisk port type. */
export interface StoredRisk {
  readonly decision: 'allow' | 'review' | 'block';
  readonly score: number;
  readonly riskLevel: string;
  readonly reasons: readonly {
    readonly rule: string;
    readonly action: string;
    readonly values: Readonly<Record<string, unknown>>;
  }[];
  readonly rulesetVersion: number;
}

export interface Payment {
  readonly id: string;
  readonly merchantId: string;
  readonly amount: bigint;
  readonly currency: CurrencyCode;
  readonly method: PaymentMethodType;
  readonly token: string | null;
  readonly captureOnAuthorize: boolean;
  readonly returnUrl: string | null;
  /** Where the payer's receipt goes once captured. */
  readonly receiptEmail: string | null;
  readonly receiptPhone: string | null;
  readonly status: PaymentStatus;
  readonly authorizedAmount: bigint;
  readonly capturedAmount: bigint;
  readonly refundedAmount: bigint;
  readonly refundingAmount: bigint;
  readonly version: number;
  readonly processorReference: string;
  readonly acquirerAuthorizationId: string | null;
  readonly declineCode: string | null;
  readonly nextAction: { readonly type: 'redirect'; readonly redirectUrl: string } | null;
  readonly metadata: Record<string, unknown>;
  readonly pendingOperation: PendingOperation | null;
  readonly pendingOperationAmount: bigint | null;
  readonly expiresAt: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly authorizedAt: Date | null;
  readonly capturedAt: Date | null;
  readonly voidedAt: Date | null;
  readonly risk: StoredRisk | null;
  readonly review: ReviewState | null;
}

export type RefundStatus = 'PENDING' | 'REFUNDED' | 'FAILED';

export interface Refund {
  readonly id: string;
  readonly paymentId: string;
  readonly merchantId: string;
  readonly amount: bigint;
  readonly currency: CurrencyCode;
  readonly status: RefundStatus;
  readonly reason: string | null;
  readonly metadata: Record<string, unknown>;
  readonly processorReference: string;
  readonly acquirerRefundId: string | null;
  readonly declineCode: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** The decline code (and problem code) of a payment the fraud screening blocked. */
export const fraudBlockedCode = 'fraud_blocked';

/** References are derived from ids, so a retry can never reach the acquirer under a new one. */
export const references = {
  authorization: (paymentId: string) => `${paymentId}.authorization`,
  capture: (paymentId: string) => `${paymentId}.capture`,
  void: (paymentId: string) => `${paymentId}.void`,
  refund: (refundId: string) => `${refundId}.refund`,
  /** The void of an authorization PayFlow finished without funds (a cancelled redirect, an expired authorization, a late approval). */
  reversal: (paymentId: string) => `${paymentId}.reversal`,
  /** The capture owed once the payer approved a bank redirect created with `capture: true` (ADR 17). */
  approvalCapture: (paymentId: string) => `${paymentId}.approval-capture`,
};

/** An answer to store on the idempotency key and replay byte for byte. */
export interface ApiAnswer {
  readonly status: number;
  readonly body: string;
}

function json(status: number, body: Record<string, unknown>): ApiAnswer {
  return { status, body: JSON.stringify(body) };
}

function problemAnswer<Code extends ErrorCode>(
  status: StatusOf<Code>,
  code: Code,
  detail: string,
  extensions: Record<string, unknown>,
): ApiAnswer {
  return json(status, { ...problem(status, code, detail, extensions) });
}

/**
 * Whether an answer is final (stored on the key) or says the outcome is still unknown (202). A card
 * or wallet sale whose capture has no answer yet is not final: its key drives the capture. A bank
 * redirect's capture is owed by the system (ADR 17), so its AUTHORIZED answer is final.
 */
export function isFinalAuthorization(payment: Payment): boolean {
  if (payment.status === 'PENDING') return false;
  return !(
    payment.status === 'AUTHORIZED' &&
    payment.pendingOperation === 'capture' &&
    payment.captureOnAuthorize &&
    payment.method !== 'bank_redirect'
  );
}

/** POST /payments/authorize: 201 when the acquirer approved, 202 while unknown or awaiting the payer. */
export function authorizationAnswer(payment: Payment): ApiAnswer {
  const base = {
    paymentId: payment.id,
    status: payment.status,
    amount: amountToJson(payment.amount),
    currency: payment.currency,
  };
  if (payment.status === 'FAILED' && payment.declineCode === fraudBlockedCode) {
    // The rule ids only: no values, no rule text (ADR 21).
    return problemAnswer(
      422,
      fraudBlockedCode,
      "PayFlow's fraud screening blocked the payment; nothing was sent to the acquirer.",
      {
        paymentId: payment.id,
        paymentStatus: payment.status,
        outcome: 'blocked_by_fraud',
        amount: base.amount,
        currency: base.currency,
        risk: {
          decision: 'block',
          score: payment.risk?.score ?? null,
          rules: payment.risk?.reasons.map((reason) => reason.rule) ?? [],
        },
        createdAt: payment.createdAt.toISOString(),
      },
    );
  }
  if (payment.status === 'FAILED') {
    return problemAnswer(
      422,
      // The acquirer's code when the catalogue lists it, else card_declined; `declineCode` holds it as sent.
      declineProblemCode(payment.declineCode),
      'The acquirer declined the authorization.',
      {
        paymentId: payment.id,
        paymentStatus: payment.status,
        amount: base.amount,
        currency: base.currency,
        declineCode: payment.declineCode,
        createdAt: payment.createdAt.toISOString(),
      },
    );
  }
  if (
    payment.status === 'PENDING' ||
    payment.status === 'REQUIRES_ACTION' ||
    !isFinalAuthorization(payment)
  ) {
    return json(202, {
      ...base,
      ...(payment.nextAction !== null && { nextAction: payment.nextAction }),
      createdAt: payment.createdAt.toISOString(),
    });
  }
  return json(201, {
    ...base,
    authorizedAmount: amountToJson(payment.authorizedAmount),
    ...(payment.capturedAmount > 0n && { capturedAmount: amountToJson(payment.capturedAmount) }),
    ...(payment.review !== null && { review: payment.review }),
    createdAt: payment.createdAt.toISOString(),
  });
}

export function captureAnswer(payment: Payment): ApiAnswer {
  if (payment.pendingOperation === 'capture') {
    return json(202, {
      paymentId: payment.id,
      status: payment.status,
      captureAmount: amountToJson(payment.pendingOperationAmount ?? 0n),
      detail: 'The acquirer has not answered yet; the capture completes in the background.',
    });
  }
  return json(200, {
    paymentId: payment.id,
    status: payment.status,
    capturedAmount: amountToJson(payment.capturedAmount),
    capturedAt: payment.capturedAt?.toISOString() ?? null,
  });
}

export function voidAnswer(payment: Payment): ApiAnswer {
  if (payment.pendingOperation === 'void') {
    return json(202, {
      paymentId: payment.id,
      status: payment.status,
      detail: 'The void completes in the background.',
    });
  }
  return json(200, {
    paymentId: payment.id,
    status: payment.status,
    voidedAt: payment.voidedAt?.toISOString() ?? null,
  });
}

export function operationDeclinedAnswer(
  operation: 'capture' | 'void' | 'refund',
  paymentId: string,
  declineCode: string,
  extensions: Record<string, unknown> = {},
): ApiAnswer {
  return problemAnswer(
    422,
    `${operation}_declined`,
    `The acquirer declined the ${operation}: ${declineCode}.`,
    {
      paymentId,
      declineCode,
      ...extensions,
    },
  );
}

export function refundView(refund: Refund): Record<string, unknown> {
  return {
    refundId: refund.id,
    paymentId: refund.paymentId,
    status: refund.status,
    refundedAmount: amountToJson(refund.amount),
    currency: refund.currency,
    reason: refund.reason,
    ...(refund.declineCode !== null && { declineCode: refund.declineCode }),
    metadata: refund.metadata,
    createdAt: refund.createdAt.toISOString(),
  };
}

/** POST /payments/{id}/refund: 200 once refunded, 202 while the acquirer has not said. */
export function refundAnswer(refund: Refund, paymentStatus: PaymentStatus): ApiAnswer {
  if (refund.status === 'FAILED') {
    return operationDeclinedAnswer('refund', refund.paymentId, refund.declineCode ?? 'refund_failed', {
      refundId: refund.id,
    });
  }
  return json(refund.status === 'REFUNDED' ? 200 : 202, { ...refundView(refund), paymentStatus });
}

/** GET /payments/{id} and the list. */
export function paymentView(payment: Payment): Record<string, unknown> {
  return {
    paymentId: payment.id,
    status: payment.status,
    amount: amountToJson(payment.amount),
    currency: payment.currency,
    paymentMethod: { type: payment.method, ...(payment.token !== null && { token: payment.token }) },
    authorizedAmount: amountToJson(payment.authorizedAmount),
    capturedAmount: amountToJson(payment.capturedAmount),
    refundedAmount: amountToJson(payment.refundedAmount),
    ...(payment.declineCode !== null && { declineCode: payment.declineCode }),
    ...(payment.status === 'FAILED' && {
      outcome: payment.declineCode === fraudBlockedCode ? 'blocked_by_fraud' : 'declined',
    }),
    ...(payment.risk?.decision !== undefined && { risk: payment.risk }),
    ...(payment.review !== null && { review: payment.review }),
    ...(payment.nextAction !== null && { nextAction: payment.nextAction }),
    ...(payment.pendingOperation !== null && { pendingOperation: payment.pendingOperation }),
    ...(payment.receiptEmail !== null && { receiptEmail: payment.receiptEmail }),
    ...(payment.receiptPhone !== null && { receiptPhone: payment.receiptPhone }),
    metadata: payment.metadata,
    createdAt: payment.createdAt.toISOString(),
    updatedAt: payment.updatedAt.toISOString(),
    ...(payment.authorizedAt !== null && { authorizedAt: payment.authorizedAt.toISOString() }),
    ...(payment.capturedAt !== null && { capturedAt: payment.capturedAt.toISOString() }),
    ...(payment.voidedAt !== null && { voidedAt: payment.voidedAt.toISOString() }),
    ...(payment.expiresAt !== null && { expiresAt: payment.expiresAt.toISOString() }),
  };
}
