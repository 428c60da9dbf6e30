// What the checkout needs from outside: the payments API to authorize, the merchant's public
// details, the outbox, and time and ids. Infra implements them; tests may fake them.
import type { Clock } from '../../../platform/clock.ts';
import type { Sql, TransactionSql } from '../../../platform/db/client.ts';
import type { Logger } from '../../../platform/log.ts';
import type { CurrencyCode } from '../../../platform/money.ts';
import type { ErrorCode, StatusOf } from '../../../platform/error-codes.ts';

export interface AuthorizationRequest {
  readonly idempotencyKey: string;
  readonly amount: bigint;
  readonly currency: CurrencyCode;
  readonly token: string;
  readonly capture: boolean;
  readonly sessionId: string;
  /** The payer's IP address, for the payments API's fraud screening. */
  readonly payerIp: string | undefined;
}

/** The payments API's answer, reduced to what the checkout decides on. */
export type AuthorizationOutcome =
  | { readonly kind: 'approved'; readonly paymentId: string }
  | { readonly kind: 'declined'; readonly paymentId: string | undefined; readonly declineCode: string }
  /** Outcome unknown for now (202 PENDING, or the same key still in flight): ask again later. */
  | { readonly kind: 'pending'; readonly paymentId: string | undefined }
  /** Refused before reaching the acquirer (an unknown or foreign token, a bad request). */
  | {
      readonly kind: 'refused';
      readonly status: StatusOf<ErrorCode>;
      readonly code: ErrorCode;
      readonly detail: string;
    };

export interface PaymentAuthorizer {
  authorize(merchantId: string, request: AuthorizationRequest): Promise<AuthorizationOutcome>;
}

export interface MerchantDirectory {
  /** The merchant's display name; undefined for an unknown merchant. */
  name(merchantId: string): Promise<string | undefined>;
  publishableKey(merchantId: string): Promise<string | undefined>;
}

export interface CheckoutEvent {
  readonly type: 'checkout.session.completed.v1';
  readonly aggregateId: string;
  readonly merchantId: string;
  readonly payload: Record<string, unknown>;
  readonly occurredAt: Date;
}

export interface CheckoutDependencies {
  readonly sql: Sql;
  readonly clock: Clock;
  readonly log: Logger;
  newId(prefix: string): string;
  stage(transaction: TransactionSql, event: CheckoutEvent): Promise<unknown>;
  readonly merchants: MerchantDirectory;
}
