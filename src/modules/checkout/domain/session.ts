// A checkout session: what the payer is asked to pay, and whether it is still payable. Pure: the
// clock and the stored row come in, decisions come out.
import type { CurrencyCode } from '../../../platform/money.ts';

/** Shortest and longest life of a session, in seconds (default one hour, at most a day). */
export const sessionLifetimeMinSeconds = 60;
export const sessionLifetimeMaxSeconds = 86_400;
export const sessionLifetimeDefaultSeconds = 3_600;
/** A payer may try this many cards on one session; then the merchant creates another. */
export const sessionAttemptsMax = 20;

export type StoredSessionStatus = 'open' | 'completed';
/** What the API shows: `expired` is an open session past its expiry (no job needed to flip it). */
export type SessionStatus = StoredSessionStatus | 'expired';

export interface CheckoutSession {
  readonly id: string;
  readonly merchantId: string;
  readonly amount: bigint;
  readonly currency: CurrencyCode;
  readonly description: string;
  readonly successUrl: string;
  readonly cancelUrl: string;
  readonly capture: boolean;
  readonly status: StoredSessionStatus;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  /** The attempt in flight or of unknown outcome; on a completed session, the one that paid. */
  readonly attempt:
    | {
        readonly key: string;
        readonly token: string;
        readonly startedAt: Date;
        /** The payer's IP address as the page's request came (for fraud screening). */
        readonly payerIp: string | undefined;
      }
    | undefined;
  readonly attempts: number;
  readonly paymentId: string | undefined;
  readonly completedAt: Date | undefined;
}

export function statusAt(session: Pick<CheckoutSession, 'status' | 'expiresAt'>, now: Date): SessionStatus {
  if (session.status === 'completed') return 'completed';
  return now.getTime() >= session.expiresAt.getTime() ? 'expired' : 'open';
}

/**
 * The Idempotency-Key the checkout authorizes with: one per (session, card token), so a double
 * click or a retry after a lost answer replays the same authorization, and another card is a new
 * one. Tokens and session ids are visible ASCII, so the key is a valid Idempotency-Key.
 */
export function attemptKey(sessionId: string, token: string): string {
  return `checkout:${sessionId}:${token}`;
}

/** Why a session cannot be paid now, in precedence order; undefined when it can. */
export type PayRefusal =
  'checkout_session_completed' | 'checkout_session_expired' | 'checkout_attempts_exhausted';

export function payRefusal(session: CheckoutSession, now: Date, key: string): PayRefusal | undefined {
  const status = statusAt(session, now);
  switch (status) {
    case 'completed':
      // The attempt that paid stays on the session: the same card again gets the same success.
      return session.attempt?.key === key ? undefined : 'checkout_session_completed';
    case 'expired':
      // An attempt already sent may still be resolved after expiry (same key): it may have paid.
      return session.attempt?.key === key ? undefined : 'checkout_session_expired';
    case 'open':
      if (session.attempt?.key !== key && session.attempts >= sessionAttemptsMax)
        return 'checkout_attempts_exhausted';
      return undefined;
    default:
      return status satisfies never;
  }
}

/** Only http(s) URLs without credentials; the page redirects the payer there. */
export function isRedirectUrl(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  return (
    (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === ''
  );
}

/** The success URL with the session id appended, so the merchant's page knows which session paid. */
export function successRedirect(session: Pick<CheckoutSession, 'id' | 'successUrl'>): string {
  const url = new URL(session.successUrl);
  url.searchParams.set('session_id', session.id);
  return url.toString();
}
