// What the payments use cases need from the world, declared here and implemented in infra/ (our own
// tables, the acquirer) or adapted from other modules' faces in index.ts (vault, ledger, events).
import type { Queryable, TransactionSql } from '../../../platform/db/client.ts';
import type { CurrencyCode } from '../../../platform/money.ts';
import type { StoredRisk } from '../domain/payment.ts';

export type PaymentMethodType = 'card' | 'wallet' | 'bank_redirect';

/** A value that prints masked; `reveal()` is called only where the acquirer request is built. */
export interface SecretValue<T> {
  reveal(): T;
}

export type ProcessorCredentials =
  | {
      readonly kind: 'card';
      readonly number: SecretValue<string>;
      readonly expMonth: number;
      readonly expYear: number;
      readonly cvc?: SecretValue<string>;
    }
  | {
      readonly kind: 'wallet';
      readonly type: 'apple_pay' | 'google_pay';
      readonly networkToken: SecretValue<string>;
      readonly cryptogram: SecretValue<string>;
      readonly expMonth: number;
      readonly expYear: number;
    };

export interface TokenDescription {
  readonly kind: 'card' | 'wallet';
  readonly brand?: string;
  readonly last4?: string;
  /** Cards only: the first digits and the merchant-scoped fingerprint (never the number). */
  readonly bin?: string;
  readonly fingerprint?: string;
}

/** The fraud screening's decision on a payment, stored on it as `risk` (ADR 21). */
export type PaymentRisk = StoredRisk;

/** A decision not stored yet: phase 2 stores it with the outcome it led to. */
export interface ScreenedRisk extends PaymentRisk {
  /** Stores the decision, or an amended one (a block turned into a review), in phase 2. */
  save(transaction: TransactionSql, amended?: Pick<PaymentRisk, 'decision' | 'reasons'>): Promise<void>;
}

/** What the screening sees of a payment: no card number, only the vault's description of the card. */
export interface RiskRequest {
  readonly paymentId: string;
  readonly merchantId: string;
  readonly amount: bigint;
  readonly currency: CurrencyCode;
  readonly method: PaymentMethodType;
  readonly card?: {
    readonly fingerprint: string;
    readonly bin: string;
    readonly last4: string;
    readonly brand: string;
  };
  readonly payer: PayerSignals;
  readonly metadata: Readonly<Record<string, unknown>>;
}

export interface PayerSignals {
  readonly email?: string | undefined;
  readonly ipAddress?: string | undefined;
  readonly billingCountry?: string | undefined;
}

/** The screening step before the acquirer (implemented by the fraud module). */
export interface RiskPort {
  /** Screens the payment; `save` stores the decision in the transaction that applies it (phase 2). */
  assess(request: RiskRequest): Promise<ScreenedRisk>;
  /** The decision stored for the payment, if it was ever screened. */
  recorded(paymentId: string): Promise<PaymentRisk | undefined>;
  /** Seconds an authorization waited for its screening beyond its other steps (ADR 31). */
  added(seconds: number): void;
}

/** The vault, as payments sees it. */
export interface CardDataPort {
  /** The token's kind, or undefined when the merchant has no such token. */
  describe(merchantId: string, token: string): Promise<TokenDescription | undefined>;
  /** Clear card data for one acquirer call; never stored, logged or returned by payments. */
  credentialsFor(merchantId: string, token: string): Promise<ProcessorCredentials>;
  /** Brand and last 4 of a page of the merchant's tokens (at most 500); unknown tokens left out. */
  describeMany(
    merchantId: string,
    tokens: readonly string[],
  ): Promise<ReadonlyMap<string, { readonly brand: string; readonly last4: string }>>;
  /** The merchant's tokens ending in `last4`; `truncated` when there are too many to list. */
  tokensEndingIn(
    merchantId: string,
    last4: string,
  ): Promise<{ readonly tokens: readonly string[]; readonly truncated: boolean }>;
}

export interface PaymentLedgerRef {
  readonly paymentId: string;
  readonly merchantId: string;
  readonly currency: CurrencyCode;
}

/** The ledger effects payments produces; the adapter builds and posts the journals. */
export type LedgerRecord =
  | { readonly kind: 'authorization_hold'; readonly authorized: bigint }
  | { readonly kind: 'authorization_hold_and_capture'; readonly amount: bigint }
  | { readonly kind: 'capture'; readonly captured: bigint; readonly authorized: bigint }
  | { readonly kind: 'void'; readonly authorized: bigint }
  | { readonly kind: 'expiry'; readonly authorized: bigint }
  | { readonly kind: 'refund'; readonly refundAmount: bigint };

export interface LedgerEntryView {
  readonly entryId: string;
  readonly type: string;
  readonly account: string;
  readonly amount: bigint;
  readonly createdAt: Date;
}

export interface PaymentLedgerView {
  /** What the merchant is owed for this payment (captured − refunded). */
  readonly balance: bigint;
  /** Still reserved on the card. */
  readonly hold: bigint;
  readonly entries: readonly LedgerEntryView[];
}

export interface LedgerPort {
  record(
    transaction: TransactionSql,
    payment: PaymentLedgerRef,
    record: LedgerRecord,
    occurredAt: Date,
  ): Promise<void>;
  view(sql: Queryable, merchantId: string, paymentId: string): Promise<PaymentLedgerView>;
}

export type PaymentEventType =
  | 'payment.authorized.v1'
  | 'payment.captured.v1'
  | 'payment.failed.v1'
  | 'payment.refunded.v1'
  | 'payment.voided.v1'
  | 'payment.expired.v1'
  | 'payment.payer_data_erased.v1'
  | 'payment.review_approved.v1'
  | 'payment.review_rejected.v1';

export interface EventStager {
  stage(
    transaction: TransactionSql,
    event: {
      readonly type: PaymentEventType;
      readonly aggregateId: string;
      readonly merchantId: string;
      readonly payload: Record<string, unknown>;
      readonly occurredAt: Date;
    },
  ): Promise<void>;
}

// ---- The acquirer, behind one processor strategy per payment method -------------------------------

export interface AuthorizationCall {
  readonly reference: string;
  readonly amount: bigint;
  readonly currency: CurrencyCode;
  readonly credentials: ProcessorCredentials | undefined;
  readonly returnUrl?: string;
}

/** `unknown`: no trustworthy answer (timeout, transport failure, invalid answer). Never a decline. */
export type AuthorizationOutcome =
  | { readonly type: 'approved'; readonly acquirerAuthorizationId: string; readonly approvedAmount: bigint }
  | { readonly type: 'declined'; readonly declineCode: string; readonly acquirerAuthorizationId?: string }
  | {
      readonly type: 'requires_action';
      readonly acquirerAuthorizationId: string;
      readonly redirectUrl: string;
    }
  | { readonly type: 'unknown'; readonly reason: string };

export type OperationOutcome =
  | { readonly type: 'succeeded'; readonly operationId: string }
  /** Accepted, final answer later (a refund the acquirer settles asynchronously). */
  | { readonly type: 'pending'; readonly operationId: string }
  | { readonly type: 'declined'; readonly declineCode: string }
  | { readonly type: 'unknown'; readonly reason: string };

/** What an inquiry by reference says: the stored outcome, nothing recorded, or no answer. */
export type InquiryOutcome<T> =
  | { readonly type: 'found'; readonly outcome: T }
  | { readonly type: 'not_found' }
  | { readonly type: 'unknown'; readonly reason: string };

export interface PaymentProcessor {
  readonly method: PaymentMethodType;
  /** Whether the method needs vault credentials (bank redirects need none). */
  readonly needsCredentials: boolean;
  authorize(call: AuthorizationCall): Promise<AuthorizationOutcome>;
}

/** The acquirer's follow-up operations, the same for every method. */
export interface AcquirerOperations {
  capture(acquirerAuthorizationId: string, reference: string, amount: bigint): Promise<OperationOutcome>;
  refund(acquirerAuthorizationId: string, reference: string, amount: bigint): Promise<OperationOutcome>;
  void(acquirerAuthorizationId: string, reference: string): Promise<OperationOutcome>;
  inquireAuthorization(reference: string): Promise<InquiryOutcome<AuthorizationOutcome>>;
  inquireOperation(reference: string): Promise<InquiryOutcome<OperationOutcome>>;
}

export interface ProcessorFactory {
  processorFor(method: PaymentMethodType): PaymentProcessor;
  readonly operations: AcquirerOperations;
}

export interface IdGenerator {
  newId(prefix: 'pay' | 'ref' | 'jnl'): string;
}
