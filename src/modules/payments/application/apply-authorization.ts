// Phase 2 of an authorization, inside the caller's transaction: the guarded status change, the
// ledger journal and the outbox event commit together (or not at all). The approval of a bank
// redirect created with `capture: true` also owes the acquirer its capture in that transaction
// (ADR 17): the payment is AUTHORIZED with the capture pending, sent after the commit.
import assert from 'node:assert/strict';
import type { TransactionSql } from '../../../platform/db/client.ts';
import { amountToJson } from '../../../platform/money.ts';
import { transition, type PaymentAction } from '../domain/payment-state.ts';
import { fraudBlockedCode, references, type Payment } from '../domain/payment.ts';
import { insertOwedOperation } from '../infra/owed-operation-repository.ts';
import { updatePayment, type PaymentChanges } from '../infra/payment-repository.ts';
import type { PaymentsDependencies } from './dependencies.ts';
import type { AuthorizationOutcome, OperationOutcome, PaymentRisk, ScreenedRisk } from './ports.ts';

/**
 * The acquirer's answer, or the screening's block (ADR 21: FAILED `fraud_blocked`, nothing sent), and
 * the screening's decision to store on the payment (`risk`; a review decision makes `review` pending).
 */
export type DecidedAuthorization = (
  Exclude<AuthorizationOutcome, { type: 'unknown' }> | { readonly type: 'blocked' }
) & { readonly risk?: PaymentRisk | ScreenedRisk | undefined };

/** The decision as the payment row keeps it (no `save`). */
function riskColumn(risk: PaymentRisk): PaymentRisk {
  return {
    decision: risk.decision,
    score: risk.score,
    riskLevel: risk.riskLevel,
    reasons: risk.reasons,
    rulesetVersion: risk.rulesetVersion,
  };
}

/** A sale (`capture: true`) carries the outcome of its capture call; undefined for a plain authorization. */
export type SaleCapture = OperationOutcome | undefined;

/**
 * A bank redirect's sale cannot be captured in the authorize call (the payer decides later): its
 * capture is owed by the system on approval, not driven by the authorize idempotency key (ADR 17).
 */
export function capturesOnApproval(payment: Payment): boolean {
  return payment.captureOnAuthorize && payment.method === 'bank_redirect';
}

function actionFor(outcome: DecidedAuthorization, capture: SaleCapture): PaymentAction {
  switch (outcome.type) {
    case 'declined':
    case 'blocked':
      return 'authorization_declined';
    case 'requires_action':
      return 'action_required';
    case 'approved':
      return capture?.type === 'succeeded' ? 'authorize_and_capture' : 'authorization_approved';
    default:
      return outcome satisfies never;
  }
}

function changesFor(
  dependencies: PaymentsDependencies,
  payment: Payment,
  outcome: DecidedAuthorization,
  capture: SaleCapture,
  now: Date,
): PaymentChanges {
  const changes = outcomeChanges(dependencies, payment, outcome, capture, now);
  if (!outcome.risk) return changes;
  const inReview =
    outcome.risk.decision === 'review' && (outcome.type === 'approved' || outcome.type === 'requires_action');
  return { ...changes, risk: riskColumn(outcome.risk), ...(inReview && { review: 'pending' as const }) };
}

function outcomeChanges(
  dependencies: PaymentsDependencies,
  payment: Payment,
  outcome: DecidedAuthorization,
  capture: SaleCapture,
  now: Date,
): PaymentChanges {
  const expiresAt = new Date(now.getTime() + dependencies.settings.authorizationValidityMs);
  switch (outcome.type) {
    case 'declined':
      return { decline_code: outcome.declineCode };
    case 'blocked':
      return { decline_code: fraudBlockedCode };
    case 'requires_action':
      return {
        acquirer_authorization_id: outcome.acquirerAuthorizationId,
        next_action: { type: 'redirect', redirectUrl: outcome.redirectUrl },
        expires_at: expiresAt,
      };
    case 'approved': {
      const authorized = outcome.approvedAmount < payment.amount ? outcome.approvedAmount : payment.amount;
      const base: PaymentChanges = {
        acquirer_authorization_id: outcome.acquirerAuthorizationId,
        authorized_amount: authorized,
        authorized_at: now,
        next_action: null,
        expires_at: expiresAt,
      };
      if (capture?.type === 'succeeded')
        return { ...base, captured_amount: authorized, captured_at: now, expires_at: null };
      // A bank redirect's sale in review is captured when the review is approved, not before.
      if (
        capture?.type === 'unknown' ||
        (capture === undefined && capturesOnApproval(payment) && payment.review !== 'pending')
      )
        return { ...base, pending_operation: 'capture', pending_operation_amount: authorized };
      return base;
    }
    default:
      return outcome satisfies never;
  }
}

function eventPayload(payment: Payment): Record<string, unknown> {
  return {
    paymentId: payment.id,
    status: payment.status,
    amount: amountToJson(payment.amount),
    currency: payment.currency,
    method: payment.method,
    authorizedAmount: amountToJson(payment.authorizedAmount),
    capturedAmount: amountToJson(payment.capturedAmount),
    ...(payment.declineCode !== null && { declineCode: payment.declineCode }),
  };
}

/**
 * The payload of `payment.captured.v1`: the common fields plus which receipts the payer asked for
 * (`receipt: { email, sms }`), never the address or number itself: events and webhooks carry no
 * personal data (docs/personal-data.md); the notifications module reads the contact through the
 * payments face when it sends the receipt. Never card data.
 */
function capturedEventPayload(payment: Payment): Record<string, unknown> {
  return {
    ...eventPayload(payment),
    ...((payment.receiptEmail !== null || payment.receiptPhone !== null) && {
      receipt: { email: payment.receiptEmail !== null, sms: payment.receiptPhone !== null },
    }),
  };
}

/** Owes the acquirer the capture of the whole authorization, sent under `pay_….approval-capture`. */
async function oweCapture(transaction: TransactionSql, payment: Payment, now: Date): Promise<void> {
  assert.ok(
    payment.acquirerAuthorizationId !== null && payment.pendingOperationAmount !== null,
    'a capture owed on approval has an authorization and an amount',
  );
  await insertOwedOperation(transaction, {
    paymentId: payment.id,
    operation: 'capture',
    merchantId: payment.merchantId,
    acquirerAuthorizationId: payment.acquirerAuthorizationId,
    reference: references.approvalCapture(payment.id),
    reason: 'capture_on_approval',
    amount: payment.pendingOperationAmount,
    now,
  });
}

/** The payment changed between the caller's read and its guarded update: nothing was written. */
export class PaymentChangedMeanwhile extends Error {}

/**
 * Applies a decided authorization to a payment the caller locked or read; returns the updated payment.
 * The status change is guarded by status and version: when the payment changed since `payment` was
 * read, it throws PaymentChangedMeanwhile before writing anything else (roll back and lock).
 * The journal, the events and `alongside` (e.g. the idempotency key's answer) go out pipelined,
 * in one round trip (ADR 18).
 */
export async function applyAuthorization(
  transaction: TransactionSql,
  dependencies: PaymentsDependencies,
  payment: Payment,
  outcome: DecidedAuthorization,
  capture: SaleCapture,
  alongside?: (updated: Payment) => Promise<unknown>,
): Promise<Payment> {
  const now = dependencies.clock.now();
  const moved = transition(payment.status, actionFor(outcome, capture));
  assert.ok(moved.ok, `authorization outcome ${outcome.type} cannot apply to a ${payment.status} payment`);
  const updated = await updatePayment(
    transaction,
    payment,
    { status: moved.next, ...changesFor(dependencies, payment, outcome, capture, now) },
    now,
  );
  if (!updated) throw new PaymentChangedMeanwhile(`payment ${payment.id} changed since it was read`);
  const ref = { paymentId: updated.id, merchantId: updated.merchantId, currency: updated.currency };
  const event = {
    aggregateId: updated.id,
    merchantId: updated.merchantId,
    payload: eventPayload(updated),
    occurredAt: now,
  };
  const writes: Promise<unknown>[] = [];
  switch (moved.ledgerEffect) {
    case 'authorization_hold':
      writes.push(
        dependencies.ledger.record(
          transaction,
          ref,
          { kind: 'authorization_hold', authorized: updated.authorizedAmount },
          now,
        ),
        dependencies.events.stage(transaction, { type: 'payment.authorized.v1', ...event }),
      );
      if (capture === undefined && capturesOnApproval(updated) && updated.review !== 'pending')
        writes.push(oweCapture(transaction, updated, now));
      break;
    case 'authorization_hold_and_capture':
      writes.push(
        dependencies.ledger.record(
          transaction,
          ref,
          { kind: 'authorization_hold_and_capture', amount: updated.capturedAmount },
          now,
        ),
        dependencies.events.stage(transaction, { type: 'payment.authorized.v1', ...event }),
        dependencies.events.stage(transaction, {
          type: 'payment.captured.v1',
          ...event,
          payload: capturedEventPayload(updated),
        }),
      );
      break;
    case 'none':
      if (updated.status === 'FAILED')
        writes.push(dependencies.events.stage(transaction, { type: 'payment.failed.v1', ...event }));
      break;
    default:
      throw new Error(`an authorization has no ledger effect ${moved.ledgerEffect}`);
  }
  // The screening's decision is stored with the outcome it led to (ADR 21).
  if (outcome.risk && 'save' in outcome.risk) writes.push(outcome.risk.save(transaction));
  if (alongside) writes.push(alongside(updated));
  await Promise.all(writes);
  return updated;
}

export { eventPayload, capturedEventPayload };
