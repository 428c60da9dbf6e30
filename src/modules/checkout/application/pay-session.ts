// Pay a checkout session with a card token the payer's browser got from POST /tokens.
// Phases: claim (lock the session, refuse a paid or expired one, record the attempt) → authorize
// through the payments API with a key derived from the session and token (outside any transaction)
// → record (complete the session and stage checkout.session.completed.v1 in one transaction, or
// free the session for another card). An earlier attempt whose outcome is unknown is resolved first
// (its own key replays its answer), so two cards can never both pay one session.
import { DomainError, type ErrorCode } from '../../../platform/errors.ts';
import { amountToJson } from '../../../platform/money.ts';
import { attemptKey, payRefusal, successRedirect, type CheckoutSession } from '../domain/session.ts';
import {
  clearAttempt,
  completeSession,
  findSession,
  lockSession,
  startAttempt,
} from '../infra/session-repository.ts';
import type { AuthorizationOutcome, CheckoutDependencies, PaymentAuthorizer } from './ports.ts';

export type PayAnswer =
  | { readonly status: 'completed'; readonly paymentId: string; readonly redirectUrl: string }
  | { readonly status: 'processing' };

type Claim =
  | {
      readonly kind: 'send';
      readonly session: CheckoutSession;
      readonly key: string;
      readonly token: string;
      readonly payerIp: string | undefined;
    }
  | { readonly kind: 'answered'; readonly answer: PayAnswer };

const refusals = {
  checkout_session_completed: [409, 'This checkout session has already been paid.'],
  checkout_session_expired: [410, 'This checkout session has expired.'],
  checkout_attempts_exhausted: [409, 'Too many payment attempts on this checkout session.'],
} as const;

function completedAnswer(session: CheckoutSession): PayAnswer {
  if (session.paymentId === undefined) throw new Error('a completed session names its payment');
  return { status: 'completed', paymentId: session.paymentId, redirectUrl: successRedirect(session) };
}

async function claim(
  dependencies: CheckoutDependencies,
  sessionId: string,
  token: string,
  payerIp: string | undefined,
): Promise<Claim> {
  const key = attemptKey(sessionId, token);
  return dependencies.sql.begin(async (transaction) => {
    const session = await lockSession(transaction, sessionId);
    if (!session) throw new DomainError('checkout_session_not_found', 404, 'No such checkout session.');
    const refusal = payRefusal(session, dependencies.clock.now(), key);
    if (refusal !== undefined) throw new DomainError(refusal, refusals[refusal][0], refusals[refusal][1]);
    // The card that paid, again (a double click, a lost answer): the same success.
    if (session.status === 'completed') return { kind: 'answered', answer: completedAnswer(session) };
    // An earlier attempt of unknown outcome is sent again (same key, same answer) before any other.
    if (session.attempt !== undefined)
      return {
        kind: 'send',
        session,
        key: session.attempt.key,
        token: session.attempt.token,
        payerIp: session.attempt.payerIp,
      };
    await startAttempt(transaction, session.id, { key, token, startedAt: dependencies.clock.now(), payerIp });
    return { kind: 'send', session, key, token, payerIp };
  });
}

async function record(
  dependencies: CheckoutDependencies,
  session: CheckoutSession,
  key: string,
  outcome: AuthorizationOutcome,
): Promise<void> {
  if (outcome.kind === 'pending') return;
  await dependencies.sql.begin(async (transaction) => {
    if (outcome.kind !== 'approved') return clearAttempt(transaction, session.id, key);
    const completedAt = dependencies.clock.now();
    const completed = await completeSession(transaction, session.id, {
      paymentId: outcome.paymentId,
      completedAt,
    });
    if (!completed) {
      // Claims serialize attempts, so only the same attempt can have completed it already.
      return;
    }
    await dependencies.stage(transaction, {
      type: 'checkout.session.completed.v1',
      aggregateId: session.id,
      merchantId: session.merchantId,
      occurredAt: completedAt,
      payload: {
        sessionId: session.id,
        paymentId: outcome.paymentId,
        amount: amountToJson(session.amount),
        currency: session.currency,
        capture: session.capture,
        completedAt,
      },
    });
  });
}

function answerFor(session: CheckoutSession, outcome: AuthorizationOutcome): PayAnswer {
  switch (outcome.kind) {
    case 'approved':
      return completedAnswer({ ...session, paymentId: outcome.paymentId });
    case 'pending':
      return { status: 'processing' };
    case 'declined':
      throw new DomainError('payment_declined', 422, 'The card was declined.', {
        declineCode: outcome.declineCode,
        ...(outcome.paymentId !== undefined && { paymentId: outcome.paymentId }),
      });
    case 'refused':
      throw new DomainError<ErrorCode>(outcome.code, outcome.status, outcome.detail);
    default:
      return outcome satisfies never;
  }
}

/** Pays the session with `token`; a declined card leaves it payable with another. */
export async function paySession(
  dependencies: CheckoutDependencies,
  authorizer: PaymentAuthorizer,
  sessionId: string,
  token: string,
  payerIp?: string,
): Promise<PayAnswer> {
  // At most twice: once to resolve an earlier attempt, once for this card.
  for (let round = 0; round < 2; round += 1) {
    const claimed = await claim(dependencies, sessionId, token, payerIp);
    if (claimed.kind === 'answered') return claimed.answer;
    const { session, key } = claimed;
    const outcome = await authorizer.authorize(session.merchantId, {
      idempotencyKey: key,
      amount: session.amount,
      currency: session.currency,
      token: claimed.token,
      capture: session.capture,
      sessionId: session.id,
      payerIp: claimed.payerIp,
    });
    await record(dependencies, session, key, outcome);
    const isThisCard = key === attemptKey(sessionId, token);
    if (isThisCard && outcome.kind === 'pending') {
      // Another request may have resolved this very attempt meanwhile (it replays the same key).
      const current = await findSession(dependencies.sql, session.id);
      if (current?.status === 'completed' && current.attempt?.key === key) return completedAnswer(current);
    }
    if (isThisCard) return answerFor(session, outcome);
    // The earlier attempt: paid means this card must not; pending means wait; failed frees the session.
    if (outcome.kind === 'approved')
      throw new DomainError('checkout_session_completed', 409, refusals.checkout_session_completed[1]);
    if (outcome.kind === 'pending')
      throw new DomainError(
        'checkout_payment_in_progress',
        409,
        'An earlier payment attempt on this session is still being processed; try again shortly.',
        {},
        { 'retry-after': '2' },
      );
  }
  throw new DomainError(
    'checkout_payment_in_progress',
    409,
    'Another payment attempt on this session is in progress; try again shortly.',
    {},
    { 'retry-after': '2' },
  );
}
