// The payment life cycle: one transition table (every status × every action, allowed or refused with
// a precise code) and the amount rules of capture and refund. Pure: callers pass the stored status
// and amounts, and persist the answer with a guarded update (`WHERE status = expected`).
import assert from 'node:assert/strict';
import type { StatusOf } from '../../../platform/error-codes.ts';

export const paymentStatuses = [
  'PENDING',
  'REQUIRES_ACTION',
  'AUTHORIZED',
  'CAPTURED',
  'PARTIALLY_REFUNDED',
  'REFUNDED',
  'VOIDED',
  'FAILED',
  'EXPIRED',
] as const;
export type PaymentStatus = (typeof paymentStatuses)[number];

/**
 * The first four are acquirer outcomes of an authorization (`authorize_and_capture` is the
 * `capture: true` sale); the rest are merchant requests or the expiry job. A refund is partial or
 * full depending on amounts: `checkRefund` says which.
 */
export const paymentActions = [
  'authorization_approved',
  'authorization_declined',
  'action_required',
  'authorize_and_capture',
  'capture',
  'refund_partial',
  'refund_full',
  'void',
  'expire',
] as const;
export type PaymentAction = (typeof paymentActions)[number];

/** What the ledger posts for an allowed transition (the ledger's journal builders do it). */
export type LedgerEffect =
  'authorization_hold' | 'authorization_hold_and_capture' | 'capture' | 'release_hold' | 'refund' | 'none';

/** Refusals of a transition; all are HTTP 409 and each names the status that forbids the action. */
export type TransitionRefusalCode =
  | 'already_authorized'
  | 'already_captured'
  | 'payment_voided'
  | 'payment_failed'
  | 'payment_expired'
  | 'payment_not_captured'
  | 'payment_fully_refunded'
  | 'payment_pending'
  | 'payment_requires_action';

export type AmountRefusalCode = 'capture_exceeds_authorized' | 'refund_exceeds_captured';

export type Refusal<Code extends TransitionRefusalCode | AmountRefusalCode> = {
  readonly ok: false;
  readonly code: Code;
  readonly status: StatusOf<Code>;
  /** Whether the same request can succeed later without change (TigerBeetle's rule). */
  readonly retryable: boolean;
  readonly message: string;
};

export type TransitionResult =
  | { readonly ok: true; readonly next: PaymentStatus; readonly ledgerEffect: LedgerEffect }
  | Refusal<TransitionRefusalCode>;

type TableEntry =
  | { readonly allowed: true; readonly next: PaymentStatus; readonly ledgerEffect: LedgerEffect }
  | { readonly allowed: false; readonly code: TransitionRefusalCode };

function to(next: PaymentStatus, ledgerEffect: LedgerEffect): TableEntry {
  return { allowed: true, next, ledgerEffect };
}

function refuse(code: TransitionRefusalCode): TableEntry {
  return { allowed: false, code };
}

/** A status in which every action is refused with the same code. */
function closed(code: TransitionRefusalCode): Record<PaymentAction, TableEntry> {
  const row: Partial<Record<PaymentAction, TableEntry>> = {};
  for (const action of paymentActions) row[action] = refuse(code);
  return row as Record<PaymentAction, TableEntry>;
}

// PENDING means the acquirer's answer is unknown (timeout): only an outcome may move it, so a
// merchant operation gets `payment_pending` (retryable once the janitor has the outcome).
// REQUIRES_ACTION holds no funds yet, so void and expiry post nothing to the ledger.
export const transitionTable: Readonly<Record<PaymentStatus, Readonly<Record<PaymentAction, TableEntry>>>> = {
  PENDING: {
    authorization_approved: to('AUTHORIZED', 'authorization_hold'),
    authorization_declined: to('FAILED', 'none'),
    action_required: to('REQUIRES_ACTION', 'none'),
    authorize_and_capture: to('CAPTURED', 'authorization_hold_and_capture'),
    capture: refuse('payment_pending'),
    refund_partial: refuse('payment_pending'),
    refund_full: refuse('payment_pending'),
    void: refuse('payment_pending'),
    expire: refuse('payment_pending'),
  },
  REQUIRES_ACTION: {
    authorization_approved: to('AUTHORIZED', 'authorization_hold'),
    authorization_declined: to('FAILED', 'none'),
    action_required: refuse('payment_requires_action'),
    authorize_and_capture: to('CAPTURED', 'authorization_hold_and_capture'),
    capture: refuse('payment_requires_action'),
    refund_partial: refuse('payment_requires_action'),
    refund_full: refuse('payment_requires_action'),
    void: to('VOIDED', 'none'),
    expire: to('EXPIRED', 'none'),
  },
  AUTHORIZED: {
    authorization_approved: refuse('already_authorized'),
    authorization_declined: refuse('already_authorized'),
    action_required: refuse('already_authorized'),
    authorize_and_capture: refuse('already_authorized'),
    capture: to('CAPTURED', 'capture'),
    refund_partial: refuse('payment_not_captured'),
    refund_full: refuse('payment_not_captured'),
    void: to('VOIDED', 'release_hold'),
    expire: to('EXPIRED', 'release_hold'),
  },
  CAPTURED: {
    ...closed('already_captured'),
    refund_partial: to('PARTIALLY_REFUNDED', 'refund'),
    refund_full: to('REFUNDED', 'refund'),
  },
  PARTIALLY_REFUNDED: {
    ...closed('already_captured'),
    refund_partial: to('PARTIALLY_REFUNDED', 'refund'),
    refund_full: to('REFUNDED', 'refund'),
  },
  REFUNDED: {
    ...closed('already_captured'),
    refund_partial: refuse('payment_fully_refunded'),
    refund_full: refuse('payment_fully_refunded'),
  },
  VOIDED: closed('payment_voided'),
  FAILED: closed('payment_failed'),
  EXPIRED: closed('payment_expired'),
};

function describeRefusal(code: TransitionRefusalCode): {
  readonly reason: string;
  readonly retryable: boolean;
} {
  switch (code) {
    case 'already_authorized':
      return { reason: 'the authorization was already approved', retryable: false };
    case 'already_captured':
      return { reason: 'the payment was already captured', retryable: false };
    case 'payment_voided':
      return { reason: 'the payment was voided', retryable: false };
    case 'payment_failed':
      return { reason: 'the authorization was declined', retryable: false };
    case 'payment_expired':
      return { reason: 'the authorization expired', retryable: false };
    case 'payment_not_captured':
      return { reason: 'the payment is authorized but not captured; void it instead', retryable: false };
    case 'payment_fully_refunded':
      return { reason: 'the payment is already fully refunded', retryable: false };
    case 'payment_pending':
      return { reason: 'the outcome of the authorization is not known yet', retryable: true };
    case 'payment_requires_action':
      return { reason: 'the payment waits for the customer to complete an action', retryable: true };
    default:
      return code satisfies never;
  }
}

export function transition(status: PaymentStatus, action: PaymentAction): TransitionResult {
  const entry = transitionTable[status][action];
  if (entry.allowed) return { ok: true, next: entry.next, ledgerEffect: entry.ledgerEffect };
  const { reason, retryable } = describeRefusal(entry.code);
  return {
    ok: false,
    code: entry.code,
    status: 409,
    retryable,
    message: `${action} is not allowed on a ${status} payment: ${reason}`,
  };
}

/** A status no action can leave. */
export function isFinalStatus(status: PaymentStatus): boolean {
  return paymentActions.every((action) => !transitionTable[status][action].allowed);
}

export type CaptureCheck =
  | { readonly ok: true; readonly captured: bigint; readonly released: bigint }
  | Refusal<'capture_exceeds_authorized'>;

/**
 * A payment is captured once (TigerBeetle: a pending transfer is resolved exactly once): capturing
 * less than authorized releases the rest of the hold for good.
 */
export function checkCapture(input: {
  readonly authorized: bigint;
  readonly captureAmount: bigint;
}): CaptureCheck {
  const { authorized, captureAmount } = input;
  assert.ok(authorized > 0n, 'an authorization holds a positive amount');
  assert.ok(captureAmount > 0n, 'capture amounts are validated positive at the edge');
  if (captureAmount > authorized) {
    return {
      ok: false,
      code: 'capture_exceeds_authorized',
      status: 422,
      retryable: false,
      message: `cannot capture ${captureAmount}: only ${authorized} was authorized`,
    };
  }
  return { ok: true, captured: captureAmount, released: authorized - captureAmount };
}

export type RefundCheck =
  | {
      readonly ok: true;
      readonly action: 'refund_partial' | 'refund_full';
      readonly next: 'PARTIALLY_REFUNDED' | 'REFUNDED';
      readonly refundedAfter: bigint;
      readonly refundableAfter: bigint;
    }
  | Refusal<'refund_exceeds_captured'>;

/** The status after refunds totalling `refundedAfter` of a capture. */
export function statusAfterRefund(input: {
  readonly captured: bigint;
  readonly refundedAfter: bigint;
}): 'PARTIALLY_REFUNDED' | 'REFUNDED' {
  assert.ok(
    input.refundedAfter > 0n && input.refundedAfter <= input.captured,
    'refunds stay within the capture',
  );
  return input.refundedAfter === input.captured ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
}

// Over-refund is 409 as in the API contract: it conflicts with refunds already made.
export function checkRefund(input: {
  readonly captured: bigint;
  readonly refundedSoFar: bigint;
  readonly refundAmount: bigint;
}): RefundCheck {
  const { captured, refundedSoFar, refundAmount } = input;
  assert.ok(captured > 0n, 'only a positive capture can be refunded');
  assert.ok(refundedSoFar >= 0n && refundedSoFar <= captured, 'refunds so far stay within the capture');
  assert.ok(refundAmount > 0n, 'refund amounts are validated positive at the edge');
  const refundable = captured - refundedSoFar;
  if (refundAmount > refundable) {
    return {
      ok: false,
      code: 'refund_exceeds_captured',
      status: 409,
      retryable: false,
      message: `cannot refund ${refundAmount}: only ${refundable} of the ${captured} captured is left to refund`,
    };
  }
  const refundedAfter = refundedSoFar + refundAmount;
  const next = statusAfterRefund({ captured, refundedAfter });
  const action = next === 'REFUNDED' ? 'refund_full' : 'refund_partial';
  return { ok: true, action, next, refundedAfter, refundableAfter: captured - refundedAfter };
}

export type CapturePlan =
  | {
      readonly ok: true;
      readonly next: PaymentStatus;
      readonly ledgerEffect: LedgerEffect;
      readonly captured: bigint;
      readonly released: bigint;
    }
  | Refusal<TransitionRefusalCode | 'capture_exceeds_authorized'>;

/** Status first, then amount: a capture of a voided payment says `payment_voided` whatever the amount. */
export function planCapture(input: {
  readonly status: PaymentStatus;
  readonly authorized: bigint;
  readonly captureAmount: bigint;
}): CapturePlan {
  const moved = transition(input.status, 'capture');
  if (!moved.ok) return moved;
  const amounts = checkCapture(input);
  if (!amounts.ok) return amounts;
  return { ...moved, captured: amounts.captured, released: amounts.released };
}

export type RefundPlan =
  | {
      readonly ok: true;
      readonly next: PaymentStatus;
      readonly ledgerEffect: LedgerEffect;
      readonly refundedAfter: bigint;
      readonly refundableAfter: bigint;
    }
  | Refusal<TransitionRefusalCode | 'refund_exceeds_captured'>;

/** Status first (a partial refund probes whether refunds are allowed at all), then amount. */
export function planRefund(input: {
  readonly status: PaymentStatus;
  readonly captured: bigint;
  readonly refundedSoFar: bigint;
  readonly refundAmount: bigint;
}): RefundPlan {
  const allowed = transition(input.status, 'refund_partial');
  if (!allowed.ok) return allowed;
  const amounts = checkRefund(input);
  if (!amounts.ok) return amounts;
  const moved = transition(input.status, amounts.action);
  if (!moved.ok) return moved;
  return { ...moved, refundedAfter: amounts.refundedAfter, refundableAfter: amounts.refundableAfter };
}

/** The life cycle as a Mermaid state diagram, generated from the table so docs cannot drift. */
export function stateDiagramMermaid(): string {
  const lines = ['stateDiagram-v2', '    [*] --> PENDING'];
  for (const status of paymentStatuses) {
    const edges = new Map<PaymentStatus, PaymentAction[]>();
    for (const action of paymentActions) {
      const entry = transitionTable[status][action];
      if (!entry.allowed) continue;
      edges.set(entry.next, [...(edges.get(entry.next) ?? []), action]);
    }
    for (const [next, actions] of edges) lines.push(`    ${status} --> ${next} : ${actions.join(', ')}`);
  }
  for (const status of paymentStatuses) {
    if (isFinalStatus(status)) lines.push(`    ${status} --> [*]`);
  }
  return `${lines.join('\n')}\n`;
}
