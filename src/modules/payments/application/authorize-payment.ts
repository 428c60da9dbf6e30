// POST /payments/authorize, an operation of the pipeline (pipeline.ts). Steps: validate (token exists,
// nothing stored on failure) → phase 1 (claim the key, insert the PENDING payment: one statement) →
// outside any tx: the fraud screening (a step of this operation only) beside the vault credentials, then the
// acquirer with a deadline under a reference derived from the payment id → phase 2 tx (status, ledger,
// event, stored answer). An unknown outcome leaves the payment PENDING (202) for the janitor.
import { DomainError } from '../../../platform/errors.ts';
import { withSpan } from '../../../platform/tracing.ts';
import type { CurrencyCode } from '../../../platform/money.ts';
import {
  authorizationAnswer,
  isFinalAuthorization,
  references,
  type ApiAnswer,
  type Payment,
} from '../domain/payment.ts';
import {
  findPayment,
  insertKeyAndPayment,
  insertKeysAndPayments,
  insertPayment,
  lockPayment,
  type NewPayment,
} from '../infra/payment-repository.ts';
import {
  applyAuthorization,
  capturesOnApproval,
  PaymentChangedMeanwhile,
  type DecidedAuthorization,
} from './apply-authorization.ts';
import type { Queryable, TransactionSql } from '../../../platform/db/client.ts';
import { createBatcher, perClient } from '../../../platform/db/batcher.ts';
import { settleCapture } from './capture-payment.ts';
import {
  crashIfFaultInjected,
  type ContinuationMode,
  type KeyRef,
  type PaymentsDependencies,
} from './dependencies.ts';
import { sendOwedOperationNow } from './owed-operations.ts';
import { finish, inquireThenSend, keepForJanitor } from './key-steps.ts';
import { screenBesideVault } from './screening-beside-vault.ts';
import { inSharedTransaction, type PaymentOperation } from './pipeline.ts';
import type {
  AuthorizationOutcome,
  OperationOutcome,
  PayerSignals,
  PaymentMethodType,
  PaymentRisk,
  ScreenedRisk,
  TokenDescription,
} from './ports.ts';

export interface AuthorizeInput {
  readonly merchantId: string;
  readonly idempotencyKey: string;
  readonly fingerprint: string;
  readonly amount: bigint;
  readonly currency: CurrencyCode;
  readonly method: PaymentMethodType;
  readonly token: string | undefined;
  readonly returnUrl: string | undefined;
  readonly capture: boolean;
  readonly metadata: Record<string, unknown>;
  /** Where the payer's receipt goes once captured (validated by the route schema). */
  readonly receiptEmail?: string | undefined;
  readonly receiptPhone?: string | undefined;
  /** What the fraud screening knows of the payer (never stored by payments, never in events). */
  readonly payer?: PayerSignals | undefined;
}

/** What the request knows for the screening: the vault's description of the card, the payer. */
export interface ScreeningSignals {
  readonly card?: TokenDescription | undefined;
  readonly payer: PayerSignals;
}

async function assertTokenFits(
  dependencies: PaymentsDependencies,
  input: AuthorizeInput,
): Promise<TokenDescription | undefined> {
  // A bank redirect's `capture: true` is captured once its payer approves (ADR 17); it needs no token.
  if (input.method === 'bank_redirect') return undefined;
  if (input.token === undefined) {
    throw new DomainError(
      'validation_failed',
      400,
      `paymentMethod.token is required for ${input.method} payments.`,
    );
  }
  const description = await dependencies.cardData.describe(input.merchantId, input.token);
  if (!description) throw new DomainError('token_not_found', 422, 'No such token for this merchant.');
  if (description.kind !== input.method) {
    throw new DomainError(
      'token_method_mismatch',
      422,
      `The token holds a ${description.kind}, not a ${input.method}.`,
    );
  }
  return description;
}

/** The payment phase 1 writes for a request (a new id each time it is called). */
function newPayment(dependencies: PaymentsDependencies, input: AuthorizeInput, now: Date): NewPayment {
  const paymentId = dependencies.ids.newId('pay');
  return {
    id: paymentId,
    merchantId: input.merchantId,
    amount: input.amount,
    currency: input.currency,
    method: input.method,
    token: input.token ?? null,
    captureOnAuthorize: input.capture,
    processorReference: references.authorization(paymentId),
    returnUrl: input.returnUrl ?? null,
    metadata: input.metadata,
    receiptEmail: input.receiptEmail ?? null,
    receiptPhone: input.receiptPhone ?? null,
    now,
  };
}

type NewKeyAndPayment = Parameters<typeof insertKeysAndPayments>[1][number];

/**
 * Phase 1 of concurrent authorizations leaves as one statement per batch (batching across requests,
 * ADR 18): alone at low load, together while earlier ones run. One batcher per database client.
 */
const phase1Batcher = perClient((sql: Queryable) =>
  createBatcher<NewKeyAndPayment, Payment | undefined>({
    maxInFlight: phase1StatementsInFlight,
    maxBatch: phase1BatchMax,
    runBatch: (rows) => insertKeysAndPayments(sql, rows),
    runOne: (row) => insertKeyAndPayment(sql, row.key, row.payment),
  }),
);

/** Phase 1 statements of new authorizations running at once per process (each holds a connection). */
export const phase1StatementsInFlight = 4;
/** Authorizations in one phase 1 statement at most. */
export const phase1BatchMax = 64;

/**
 * Authorize as an operation of the pipeline: validate the token (what the vault says of the card is
 * kept for the screening), phase 1 inserts the PENDING payment (in one statement with its key for a
 * new key), and the continuation screens, sends, and applies (continueAuthorization).
 */
export const authorizeOperation: PaymentOperation<AuthorizeInput, ScreeningSignals, Payment> = {
  kind: 'authorize',
  async validate(dependencies, input) {
    const card = await assertTokenFits(dependencies, input);
    return { card, payer: input.payer ?? {} };
  },
  async claimNewKey(sql, dependencies, input, _signals, now, firstAttemptAt) {
    const payment = newPayment(dependencies, input, now);
    const inserted = await phase1Batcher(sql).submit({
      key: { key: input.idempotencyKey, fingerprint: input.fingerprint, nextAttemptAt: firstAttemptAt },
      payment,
    });
    return inserted && { type: 'continue', resourceId: inserted.id, subject: inserted };
  },
  async phase1(transaction, dependencies, input, now) {
    // The key was new after all (reaped between the one statement and the claim): step by step.
    const inserted = await insertPayment(transaction, newPayment(dependencies, input, now));
    return { type: 'continue', resourceId: inserted.id, subject: inserted };
  },
  continueRequest: (dependencies, key, mode, request) =>
    continueAuthorization(dependencies, key, mode, request.subject, request.prepared),
  continueKey: (dependencies, key, mode) => continueAuthorization(dependencies, key, mode),
};

/** What the screening and the acquirer came to: an outcome (or `blocked`: nothing was sent), with the decision. */
type ScreenedOutcome = (AuthorizationOutcome | { readonly type: 'blocked' }) & {
  readonly risk?: PaymentRisk | ScreenedRisk | undefined;
};

/**
 * The screening, then the acquirer. The screening runs only where the acquirer is about to be sent
 * the authorization: for a first request, and for a resumed one (client retry, janitor) only when
 * the acquirer's inquiry says it never received it. When the acquirer holds an outcome, the decision
 * stored by the first screening applies (a resumed payment is never blocked after the acquirer may
 * have approved it).
 */
async function screenThenAuthorize(
  dependencies: PaymentsDependencies,
  payment: Payment,
  mode: ContinuationMode,
  signals: ScreeningSignals | undefined,
): Promise<ScreenedOutcome> {
  const processor = dependencies.processors.processorFor(payment.method);
  let risk: PaymentRisk | ScreenedRisk | undefined;
  const token = processor.needsCredentials ? payment.token : null;
  const send = async (): Promise<AuthorizationOutcome | { readonly type: 'blocked' }> => {
    // The screening and the vault's credentials at once (ADR 31): a block has taken the CVC but
    // never reaches the acquirer.
    const screened = await screenBesideVault(
      () => screen(dependencies, payment, signals),
      token === null ? undefined : () => dependencies.cardData.credentialsFor(payment.merchantId, token),
    );
    risk = screened.risk;
    if (risk) dependencies.risk?.added(screened.addedSeconds);
    if (risk?.decision === 'block') return { type: 'blocked' };
    const credentials = screened.credentials;
    const returnUrl = payment.returnUrl ?? undefined;
    return processor.authorize({
      reference: payment.processorReference,
      amount: payment.amount,
      currency: payment.currency,
      credentials,
      ...(returnUrl !== undefined && { returnUrl }),
    });
  };
  const outcome = await inquireThenSend<AuthorizationOutcome | { readonly type: 'blocked' }>(
    mode,
    () => dependencies.processors.operations.inquireAuthorization(payment.processorReference),
    send,
  );
  // With a risk port, `risk` is set exactly when `send` ran (the screening always answers).
  if (risk === undefined && outcome.type !== 'unknown' && dependencies.risk) {
    // The acquirer holds an outcome: the decision stored with it applies. None is stored when the
    // request died before its phase 2 (or was sent unscreened): screen now, but the acquirer may hold
    // an approval, so a block becomes a review (never FAILED while the acquirer holds the funds).
    risk = await dependencies.risk.recorded(payment.id);
    if (!risk) {
      const late = await screen(dependencies, payment, signals);
      risk = late?.decision === 'block' ? blockAsReview(late) : late;
    }
  }
  return { ...outcome, risk };
}

async function captureSale(
  dependencies: PaymentsDependencies,
  outcome: DecidedAuthorization,
  payment: Payment,
): Promise<OperationOutcome | undefined> {
  if (outcome.type !== 'approved' || !payment.captureOnAuthorize || capturesOnApproval(payment))
    return undefined;
  const amount = outcome.approvedAmount < payment.amount ? outcome.approvedAmount : payment.amount;
  return dependencies.processors.operations.capture(
    outcome.acquirerAuthorizationId,
    references.capture(payment.id),
    amount,
  );
}

/**
 * Phase 2 (or the answer from state when someone else already applied the outcome). First without a
 * row lock, from the payment read before the acquirer call: its guarded update either applies (then
 * journal, events and the key's answer follow in one pipelined round trip) or finds the payment
 * changed, which rolls back and takes the locked path below (ADR 18).
 */
async function persistAuthorization(
  dependencies: PaymentsDependencies,
  key: KeyRef,
  mode: ContinuationMode,
  read: Payment,
  outcome: DecidedAuthorization,
  capture: OperationOutcome | undefined,
): Promise<ApiAnswer> {
  const conclude = (transaction: TransactionSql, updated: Payment) => {
    const answer = authorizationAnswer(updated);
    if (isFinalAuthorization(updated)) return finish(transaction, key, answer);
    return keepForJanitor(
      dependencies,
      transaction,
      key,
      mode,
      'the capture of the sale has no answer yet',
    ).then(() => answer);
  };
  const phase2 = <T>(run: () => Promise<T>) => withSpan('payments.authorize.phase2', {}, run);
  // The guarded update makes this path safe to share a transaction with other authorizations.
  const optimistic = await phase2(() =>
    inSharedTransaction(dependencies, async (transaction) => {
      let answer: Promise<ApiAnswer> | undefined;
      await applyAuthorization(transaction, dependencies, read, outcome, capture, (updated) => {
        answer = conclude(transaction, updated);
        return answer;
      });
      return answer!;
    }),
  ).catch((error: unknown) => {
    if (error instanceof PaymentChangedMeanwhile) return undefined;
    throw error;
  });
  if (optimistic) return optimistic;
  return phase2(() =>
    dependencies.sql.begin(async (transaction) => {
      const current = await lockPayment(transaction, key.merchantId, key.resourceId);
      if (!current) throw new Error(`payment ${key.resourceId} vanished`);
      const updated =
        current.status === 'PENDING'
          ? await applyAuthorization(transaction, dependencies, current, outcome, capture)
          : current;
      return conclude(transaction, updated);
    }),
  );
}

/**
 * The fraud screening (ADR 21), before the acquirer and outside any transaction; its decision is
 * stored by phase 2. A resumed payment (retry, janitor) is screened without the request's payer
 * signals; the fraud module counts its attempt once (counters are keyed by payment id).
 */
async function screen(
  dependencies: PaymentsDependencies,
  payment: Payment,
  signals: ScreeningSignals | undefined,
): Promise<ScreenedRisk | undefined> {
  const risk = dependencies.risk;
  if (!risk) return undefined;
  const card =
    signals?.card ??
    (payment.token !== null && payment.method === 'card'
      ? await dependencies.cardData.describe(payment.merchantId, payment.token)
      : undefined);
  return withSpan('payments.authorize.screen', {}, () =>
    risk.assess({
      paymentId: payment.id,
      merchantId: payment.merchantId,
      amount: payment.amount,
      currency: payment.currency,
      method: payment.method,
      ...(card?.fingerprint !== undefined &&
        card.bin !== undefined && {
          card: {
            fingerprint: card.fingerprint,
            bin: card.bin,
            last4: card.last4 ?? '',
            brand: card.brand ?? '',
          },
        }),
      payer: signals?.payer ?? {},
      metadata: payment.metadata,
    }),
  );
}

/** A block decided after the acquirer may have approved: a review, stored as such, with its reason. */
function blockAsReview(late: ScreenedRisk): ScreenedRisk {
  const amended = {
    decision: 'review' as const,
    reasons: [...late.reasons, { rule: 'acquirer_already_answered', action: 'review', values: {} }],
  };
  return { ...late, ...amended, save: (transaction) => late.save(transaction, amended) };
}

/** Resumes an authorization from its recovery point: used by the request, its retries and the janitor. */
export async function continueAuthorization(
  dependencies: PaymentsDependencies,
  key: KeyRef,
  mode: ContinuationMode,
  /** The payment phase 1 just inserted (no need to read it back). */
  inserted?: Payment,
  /** The request's signals for the screening (absent when the janitor resumes). */
  signals?: ScreeningSignals,
): Promise<ApiAnswer> {
  const payment = inserted ?? (await findPayment(dependencies.sql, key.merchantId, key.resourceId));
  if (!payment) throw new Error(`payment ${key.resourceId} of an idempotency key is missing`);
  if (payment.status === 'PENDING') {
    const screened = await screenThenAuthorize(dependencies, payment, mode, signals);
    if (screened.type === 'unknown') {
      await keepForJanitor(dependencies, dependencies.sql, key, mode, screened.reason);
      return authorizationAnswer(payment);
    }
    // Blocked: nothing reached the acquirer and the ledger is untouched: FAILED `fraud_blocked`.
    if (screened.type === 'blocked')
      return persistAuthorization(dependencies, key, mode, payment, screened, undefined);
    const outcome: DecidedAuthorization = screened;
    crashIfFaultInjected(dependencies);
    // A payment in review is not captured with its authorization: `capture: true` becomes
    // capture-on-approval (approveReview).
    const capture =
      screened.risk?.decision === 'review' ? undefined : await captureSale(dependencies, outcome, payment);
    const answer = await persistAuthorization(dependencies, key, mode, payment, outcome, capture);
    if (capturesOnApproval(payment)) await sendOwedOperationNow(dependencies, payment.id, 'capture');
    return answer;
  }
  if (!isFinalAuthorization(payment)) {
    return settleCapture(dependencies, key, mode, payment, authorizationAnswer);
  }
  return dependencies.sql.begin((transaction) => finish(transaction, key, authorizationAnswer(payment)));
}
