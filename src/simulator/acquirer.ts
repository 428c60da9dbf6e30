// The simulated acquirer: authorizations and their captures, refunds and voids, held in memory.
// Each mutating call runs claim reference → validate → load authorization → decide → record → answer;
// a refused claim or an unknown authorization records nothing. Outside calls: the merchant's
// notifyUrl (through Notify) for bank decisions and failed refunds.
import { randomBytes } from 'node:crypto';
import type {
  AuthorizationAnswer,
  AuthorizationRequest,
  AuthorizationStatus,
  CaptureRequest,
  OperationInquiry,
  PaymentMethod,
  RefundRequest,
  VoidRequest,
} from './contract.ts';
import type { Journal, JournalLine } from './journal.ts';
import type { Notify } from './notifier.ts';
import { answerOf, fingerprintOf, OperationStore, type OperationAnswer } from './operation-store.ts';
import type { Pauses } from './pauses.ts';
import type { SimulatorLog } from './simulator-log.ts';
import { lastFour, outcomeForAccountNumber, type CardBehaviour } from './test-cards.ts';

export type Refusal =
  'invalid_request' | 'reference_mismatch' | 'reference_in_use' | 'simulator_full' | 'unknown_authorization';

export type Outcome =
  | { readonly type: 'answer'; readonly answer: OperationAnswer }
  | { readonly type: 'refused'; readonly error: Refusal; readonly detail?: string };

export interface AcquirerSettings {
  /** How long the two timeout cards keep the client waiting. */
  readonly slowResponseMs: number;
  /** How long a refund on the refunds-fail card stays pending before it fails. */
  readonly refundFailureDelayMs: number;
  /** Most references (operations) held in memory; beyond it new operations are refused. */
  readonly referencesMax: number;
  readonly bankPageUrl: (authorizationId: string) => string;
  readonly pauses: Pauses;
  readonly notify: Notify;
  readonly log: SimulatorLog;
  /** The simulator's clock (moved by the clockOffsetMs fault). Default Date.now. */
  readonly now?: () => number;
  /** Where every change is written, and read back at start (SIMULATOR_STATE_FILE). */
  readonly journal?: Journal;
}

export interface SettlementEntry {
  readonly kind: 'capture' | 'refund';
  /** PayFlow's reference for the operation (`pay_….capture`, `ref_….refund`). */
  readonly reference: string;
  /** The acquirer's own id of the operation. */
  readonly pspReference: string;
  readonly amount: bigint;
  readonly currency: string;
  readonly atMs: number;
}

interface AuthorizationState {
  readonly authorizationId: string;
  readonly reference: string;
  readonly method: PaymentMethod;
  readonly currency: string;
  readonly amount: bigint;
  status: AuthorizationStatus;
  declineCode: string | undefined;
  capturedAmount: bigint;
  /** Refunded plus pending refunds: a pending refund holds its amount until it ends. */
  refundedAmount: bigint;
  voided: boolean;
  readonly behaviour: CardBehaviour;
  readonly returnUrl: string | undefined;
  readonly last4: string | undefined;
}

/** One authorization as `GET /v1/authorizations` lists it. */
export interface AuthorizationView {
  readonly authorizationId: string;
  readonly reference: string;
  readonly status: AuthorizationStatus;
  readonly amount: string;
  readonly approvedAmount: string;
  readonly capturedAmount: string;
  readonly refundedAmount: string;
  readonly voided: boolean;
}

/** What the bank page shows about an authorization waiting for the shopper. */
export interface BankPageView {
  readonly authorizationId: string;
  readonly reference: string;
  readonly amount: number;
  readonly currency: string;
  readonly status: AuthorizationStatus;
}

export type BankDecision =
  | { readonly type: 'unknown_authorization' }
  | {
      readonly type: 'decided' | 'already_decided';
      readonly status: AuthorizationStatus;
      readonly returnUrl?: string;
    };

interface AuthorizationDecision {
  readonly status: AuthorizationStatus;
  readonly declineCode?: string;
  readonly behaviour: CardBehaviour;
}

function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('hex')}`;
}

function approvedAmountOf(authorization: AuthorizationState): bigint {
  return authorization.status === 'approved' ? authorization.amount : 0n;
}

/** Invariants after every change; a failure is a bug in the simulator, not a client error. */
function assertBalances(authorization: AuthorizationState): void {
  const { capturedAmount, refundedAmount, authorizationId } = authorization;
  const valid =
    capturedAmount >= 0n &&
    capturedAmount <= approvedAmountOf(authorization) &&
    refundedAmount >= 0n &&
    refundedAmount <= capturedAmount &&
    (!authorization.voided || capturedAmount === 0n);
  if (!valid) throw new Error(`balances broken on authorization ${authorizationId}`);
}

/** Says what is wrong with the payment details for the chosen method, if anything. */
export function paymentDetailsProblem(request: AuthorizationRequest): string | undefined {
  const { method, card, wallet } = request;
  if (method === 'card' && card === undefined) return 'body/card is required when method is card';
  if (method === 'wallet' && wallet === undefined) return 'body/wallet is required when method is wallet';
  if (method !== 'card' && card !== undefined) return 'body/card is only accepted when method is card';
  if (method !== 'wallet' && wallet !== undefined)
    return 'body/wallet is only accepted when method is wallet';
  return undefined;
}

function accountNumberOf(request: AuthorizationRequest): string | undefined {
  return request.card?.number ?? request.wallet?.networkToken;
}

function decideAuthorization(request: AuthorizationRequest): AuthorizationDecision {
  if (request.method === 'bank_redirect') return { status: 'requires_action', behaviour: 'normal' };
  const accountNumber = accountNumberOf(request);
  if (accountNumber === undefined) throw new Error('payment details must be checked before deciding');
  return outcomeForAccountNumber(accountNumber);
}

function authorizationAnswer(
  authorization: AuthorizationState,
  bankPageUrl: (id: string) => string,
): AuthorizationAnswer {
  const { reference, authorizationId, status, declineCode, currency, method } = authorization;
  return {
    reference,
    authorizationId,
    status,
    ...(declineCode !== undefined && { declineCode }),
    ...(status === 'approved' && { approvedAmount: Number(authorization.amount) }),
    currency,
    method,
    ...(status === 'requires_action' && { redirectUrl: bankPageUrl(authorizationId) }),
  };
}

// Decline codes are checked in order of precedence: the first that applies is the answer.
function captureDeclineCode(authorization: AuthorizationState, amount: bigint): string | undefined {
  if (authorization.voided) return 'authorization_voided';
  if (authorization.status !== 'approved') return 'authorization_not_approved';
  if (amount > approvedAmountOf(authorization) - authorization.capturedAmount)
    return 'amount_exceeds_authorization';
  return undefined;
}

function refundDeclineCode(authorization: AuthorizationState, amount: bigint): string | undefined {
  if (amount > authorization.capturedAmount - authorization.refundedAmount) return 'amount_exceeds_captured';
  return undefined;
}

// A void cancels an uncaptured approved authorization, or a bank redirect still waiting for its payer
// (the merchant or its expiry gave up on it): the payer can no longer approve it.
function voidDeclineCode(authorization: AuthorizationState): string | undefined {
  if (authorization.voided) return 'authorization_voided';
  if (authorization.status === 'requires_action') return undefined;
  if (authorization.status !== 'approved') return 'authorization_not_approved';
  if (authorization.capturedAmount > 0n) return 'already_captured';
  return undefined;
}

export class Acquirer {
  private readonly authorizations = new Map<string, AuthorizationState>();
  /** Captures and refunds done, in order: what the acquirer settles (settlement-report.ts). */
  private readonly settled: SettlementEntry[] = [];

  /** The captures and refunds done in [fromMs, toMs). */
  settlementEntries(fromMs: number, toMs: number): readonly SettlementEntry[] {
    return this.settled.filter((entry) => entry.atMs >= fromMs && entry.atMs < toMs);
  }
  private readonly operations: OperationStore;

  constructor(private readonly settings: AcquirerSettings) {
    this.operations = new OperationStore(settings.referencesMax);
    for (const line of settings.journal?.read() ?? []) this.replay(line);
  }

  private replay(line: JournalLine): void {
    if (line.type === 'authorization') {
      const state = line.state as unknown as AuthorizationState;
      const amounts = line.state as { amount: string; capturedAmount: string; refundedAmount: string };
      this.authorizations.set(state.authorizationId, {
        ...state,
        amount: BigInt(amounts.amount),
        capturedAmount: BigInt(amounts.capturedAmount),
        refundedAmount: BigInt(amounts.refundedAmount),
      });
    } else if (line.type === 'operation') {
      this.operations.load(line.reference, line.fingerprint, line.inquiry as unknown as OperationInquiry);
    } else {
      const entry = line.entry as unknown as SettlementEntry;
      this.settled.push({ ...entry, amount: BigInt(entry.amount as unknown as string) });
    }
  }

  /** Writes the authorization's state and the reference's stored operation (no-op without a journal). */
  private persist(authorization: AuthorizationState, reference: string, settled?: SettlementEntry): void {
    const journal = this.settings.journal;
    if (!journal) return;
    const lines: JournalLine[] = [
      {
        type: 'authorization',
        state: {
          ...authorization,
          amount: String(authorization.amount),
          capturedAmount: String(authorization.capturedAmount),
          refundedAmount: String(authorization.refundedAmount),
        },
      },
    ];
    const stored = this.operations.stored(reference);
    if (stored)
      lines.push({
        type: 'operation',
        reference,
        fingerprint: stored.fingerprint,
        inquiry: { ...stored.inquiry },
      });
    if (settled) lines.push({ type: 'settled', entry: { ...settled, amount: String(settled.amount) } });
    journal.append(lines);
  }

  private now(): number {
    return (this.settings.now ?? Date.now)();
  }

  async authorize(request: AuthorizationRequest): Promise<Outcome> {
    const problem = paymentDetailsProblem(request);
    if (problem !== undefined) return { type: 'refused', error: 'invalid_request', detail: problem };
    const claimed = this.claim(request.reference, fingerprintOf('authorization', '', request));
    if (claimed) return claimed;
    const decision = decideAuthorization(request);
    if (decision.behaviour === 'record_late') await this.waitHoldingClaim(request.reference);
    const authorization = this.createAuthorization(request, decision);
    const answer = authorizationAnswer(authorization, this.settings.bankPageUrl);
    this.operations.record({ kind: 'authorization', ...answer });
    this.persist(authorization, answer.reference);
    this.settings.log.info(
      {
        kind: 'authorization',
        reference: answer.reference,
        authorizationId: answer.authorizationId,
        method: answer.method,
        last4: authorization.last4,
        status: answer.status,
        declineCode: answer.declineCode,
      },
      'authorization decided',
    );
    if (decision.behaviour === 'answer_late') await this.settings.pauses.wait(this.settings.slowResponseMs);
    return { type: 'answer', answer };
  }

  capture(authorizationId: string, request: CaptureRequest): Outcome {
    return this.operate('capture', authorizationId, request, (authorization) => {
      const amount = BigInt(request.amount);
      const declineCode = captureDeclineCode(authorization, amount);
      if (declineCode === undefined) authorization.capturedAmount += amount;
      return {
        kind: 'capture',
        reference: request.reference,
        authorizationId,
        captureId: newId('capture'),
        status: declineCode === undefined ? 'captured' : 'declined',
        ...(declineCode !== undefined && { declineCode }),
        amount: request.amount,
      };
    });
  }

  refund(authorizationId: string, request: RefundRequest): Outcome {
    return this.operate('refund', authorizationId, request, (authorization) => {
      const amount = BigInt(request.amount);
      const declineCode = refundDeclineCode(authorization, amount);
      const base = {
        kind: 'refund',
        reference: request.reference,
        authorizationId,
        refundId: newId('refund'),
        amount: request.amount,
      } as const;
      if (declineCode !== undefined) return { ...base, status: 'declined', declineCode };
      authorization.refundedAmount += amount;
      if (authorization.behaviour !== 'refunds_fail') return { ...base, status: 'refunded' };
      const pending = { ...base, status: 'pending' } as const;
      this.failRefundLater(authorization, pending, amount);
      return pending;
    });
  }

  void(authorizationId: string, request: VoidRequest): Outcome {
    return this.operate('void', authorizationId, request, (authorization) => {
      const declineCode = voidDeclineCode(authorization);
      if (declineCode === undefined) authorization.voided = true;
      if (declineCode === undefined && authorization.status === 'requires_action')
        this.cancelPendingRedirect(authorization);
      return {
        kind: 'void',
        reference: request.reference,
        authorizationId,
        voidId: newId('void'),
        status: declineCode === undefined ? 'voided' : 'declined',
        ...(declineCode !== undefined && { declineCode }),
      };
    });
  }

  /**
   * Every authorization as the acquirer holds it: what a test harness compares with PayFlow's view
   * (amounts as decimal strings of minor units; `refundedAmount` includes pending refunds).
   */
  authorizationsView(): AuthorizationView[] {
    return [...this.authorizations.values()].map((authorization) => ({
      authorizationId: authorization.authorizationId,
      reference: authorization.reference,
      status: authorization.status,
      amount: String(authorization.amount),
      approvedAmount: String(approvedAmountOf(authorization)),
      capturedAmount: String(authorization.capturedAmount),
      refundedAmount: String(authorization.refundedAmount),
      voided: authorization.voided,
    }));
  }

  inquire(reference: string): OperationInquiry | undefined {
    return this.operations.find(reference);
  }

  bankPage(authorizationId: string): BankPageView | undefined {
    const authorization = this.authorizations.get(authorizationId);
    if (authorization?.method !== 'bank_redirect') return undefined;
    const { reference, currency, status } = authorization;
    return { authorizationId, reference, amount: Number(authorization.amount), currency, status };
  }

  /** The shopper's choice on the bank page; decided once, later clicks change nothing. */
  async decideBankRedirect(authorizationId: string, approve: boolean): Promise<BankDecision> {
    const authorization = this.authorizations.get(authorizationId);
    if (authorization?.method !== 'bank_redirect') return { type: 'unknown_authorization' };
    const returnUrl = authorization.returnUrl;
    if (authorization.status !== 'requires_action') {
      return {
        type: 'already_decided',
        status: authorization.status,
        ...(returnUrl !== undefined && { returnUrl }),
      };
    }
    authorization.status = approve ? 'approved' : 'declined';
    authorization.declineCode = approve ? undefined : 'customer_declined';
    const answer = authorizationAnswer(authorization, this.settings.bankPageUrl);
    this.operations.replace({ kind: 'authorization', ...answer });
    this.persist(authorization, answer.reference);
    this.settings.log.info(
      { kind: 'authorization', reference: answer.reference, authorizationId, status: answer.status },
      'bank redirect decided',
    );
    const { reference, status, declineCode } = answer;
    await this.settings.notify({
      kind: 'authorization',
      reference,
      authorizationId,
      status,
      ...(declineCode !== undefined && { declineCode }),
    });
    return { type: 'decided', status, ...(returnUrl !== undefined && { returnUrl }) };
  }

  /**
   * A cancelled bank redirect is decided for good: declined `authorization_voided`, as an inquiry of
   * its authorization reference and the bank page now say. No notification: the merchant asked for it.
   */
  private cancelPendingRedirect(authorization: AuthorizationState): void {
    authorization.status = 'declined';
    authorization.declineCode = 'authorization_voided';
    const answer = authorizationAnswer(authorization, this.settings.bankPageUrl);
    this.operations.replace({ kind: 'authorization', ...answer });
    this.persist(authorization, answer.reference);
    this.settings.log.info(
      { kind: 'authorization', reference: answer.reference, authorizationId: answer.authorizationId },
      'pending bank redirect cancelled',
    );
  }

  /** Claims a reference; answers at once for replays and conflicts, undefined for a new reference. */
  private claim(reference: string, fingerprint: string): Outcome | undefined {
    const claim = this.operations.claim(reference, fingerprint);
    switch (claim.type) {
      case 'new':
        return undefined;
      case 'replay':
        return { type: 'answer', answer: claim.answer };
      case 'mismatch':
        return {
          type: 'refused',
          error: 'reference_mismatch',
          detail: 'this reference was used with a different request',
        };
      case 'in_use':
        return {
          type: 'refused',
          error: 'reference_in_use',
          detail: 'this reference is still being processed; retry later',
        };
      case 'full':
        return { type: 'refused', error: 'simulator_full' };
      default:
        return claim satisfies never;
    }
  }

  /** The "times out before" card: nothing is recorded, and inquiries find nothing, until the delay ends. */
  private async waitHoldingClaim(reference: string): Promise<void> {
    try {
      await this.settings.pauses.wait(this.settings.slowResponseMs);
    } catch (error) {
      this.operations.release(reference);
      throw error;
    }
  }

  private createAuthorization(
    request: AuthorizationRequest,
    decision: AuthorizationDecision,
  ): AuthorizationState {
    const accountNumber = accountNumberOf(request);
    const authorization: AuthorizationState = {
      authorizationId: newId('authorization'),
      reference: request.reference,
      method: request.method,
      currency: request.currency,
      amount: BigInt(request.amount),
      status: decision.status,
      declineCode: decision.declineCode,
      capturedAmount: 0n,
      refundedAmount: 0n,
      voided: false,
      behaviour: decision.behaviour,
      returnUrl: request.returnUrl,
      last4: accountNumber === undefined ? undefined : lastFour(accountNumber),
    };
    this.authorizations.set(authorization.authorizationId, authorization);
    return authorization;
  }

  /** Claim → load authorization → perform (decide and change balances) → check invariants → record. */
  private operate(
    kind: 'capture' | 'refund' | 'void',
    authorizationId: string,
    request: CaptureRequest | RefundRequest | VoidRequest,
    perform: (authorization: AuthorizationState) => OperationInquiry,
  ): Outcome {
    const claimed = this.claim(request.reference, fingerprintOf(kind, authorizationId, request));
    if (claimed) return claimed;
    const authorization = this.authorizations.get(authorizationId);
    if (!authorization) {
      this.operations.release(request.reference);
      return { type: 'refused', error: 'unknown_authorization' };
    }
    const inquiry = perform(authorization);
    assertBalances(authorization);
    this.operations.record(inquiry);
    const settled: SettlementEntry | undefined =
      (inquiry.kind === 'capture' && inquiry.status === 'captured') ||
      (inquiry.kind === 'refund' && inquiry.status === 'refunded')
        ? {
            kind: inquiry.kind,
            reference: inquiry.reference,
            pspReference: inquiry.kind === 'capture' ? inquiry.captureId : inquiry.refundId,
            amount: BigInt(inquiry.amount),
            currency: authorization.currency,
            atMs: this.now(),
          }
        : undefined;
    if (settled) this.settled.push(settled);
    this.persist(authorization, inquiry.reference, settled);
    const answer = answerOf(inquiry);
    this.settings.log.info(
      {
        kind,
        reference: answer.reference,
        authorizationId,
        status: answer.status,
        declineCode: answer.declineCode,
      },
      `${kind} decided`,
    );
    return { type: 'answer', answer };
  }

  private failRefundLater(
    authorization: AuthorizationState,
    pending: Extract<OperationInquiry, { kind: 'refund' }>,
    amount: bigint,
  ): void {
    this.settings.pauses.later(this.settings.refundFailureDelayMs, async () => {
      // A failed refund gives its amount back: it can be refunded again.
      authorization.refundedAmount -= amount;
      assertBalances(authorization);
      this.operations.replace({ ...pending, status: 'failed', declineCode: 'refund_failed' });
      this.persist(authorization, pending.reference);
      const { reference, authorizationId } = pending;
      this.settings.log.info(
        { kind: 'refund', reference, authorizationId, status: 'failed' },
        'refund failed',
      );
      await this.settings.notify({
        kind: 'refund',
        reference,
        authorizationId,
        status: 'failed',
        declineCode: 'refund_failed',
      });
    });
  }
}
