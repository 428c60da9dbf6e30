// Create a checkout session for a merchant.
// Phases: validate (currency, URLs, lifetime) → insert. No outside calls.
import { DomainError } from '../../../platform/errors.ts';
import { parseCurrency } from '../../../platform/money.ts';
import {
  isRedirectUrl,
  sessionLifetimeDefaultSeconds,
  sessionLifetimeMaxSeconds,
  sessionLifetimeMinSeconds,
  type CheckoutSession,
} from '../domain/session.ts';
import { insertSession } from '../infra/session-repository.ts';
import type { CheckoutDependencies } from './ports.ts';

export interface NewSession {
  readonly merchantId: string;
  readonly amount: bigint;
  readonly currency: string;
  readonly description: string;
  readonly successUrl: string;
  readonly cancelUrl: string;
  readonly capture: boolean | undefined;
  readonly expiresInSeconds: number | undefined;
}

export async function createSession(
  dependencies: CheckoutDependencies,
  input: NewSession,
): Promise<CheckoutSession> {
  const currency = parseCurrency(input.currency);
  if (!currency.ok) throw new DomainError(currency.code, 400, currency.message);
  for (const [field, url] of [
    ['successUrl', input.successUrl],
    ['cancelUrl', input.cancelUrl],
  ] as const) {
    if (!isRedirectUrl(url))
      throw new DomainError('invalid_redirect_url', 400, `${field} must be an http or https URL.`);
  }
  const lifetimeSeconds = input.expiresInSeconds ?? sessionLifetimeDefaultSeconds;
  if (lifetimeSeconds < sessionLifetimeMinSeconds || lifetimeSeconds > sessionLifetimeMaxSeconds)
    throw new DomainError(
      'invalid_expiry',
      400,
      `expiresInSeconds must be ${sessionLifetimeMinSeconds} to ${sessionLifetimeMaxSeconds}.`,
    );
  const now = dependencies.clock.now();
  const session: CheckoutSession = {
    id: dependencies.newId('cs'),
    merchantId: input.merchantId,
    amount: input.amount,
    currency: currency.currency,
    description: input.description.trim(),
    successUrl: input.successUrl,
    cancelUrl: input.cancelUrl,
    capture: input.capture ?? true,
    status: 'open',
    createdAt: now,
    expiresAt: new Date(now.getTime() + lifetimeSeconds * 1000),
    attempt: undefined,
    attempts: 0,
    paymentId: undefined,
    completedAt: undefined,
  };
  if (session.description === '')
    throw new DomainError('invalid_description', 400, 'description must not be blank.');
  await insertSession(dependencies.sql, session);
  return session;
}
