// Read a session: the merchant's full view, and the payer's (what the checkout page shows).
// Phases: load → describe. The payer's view also reads the merchant's name and publishable key.
import { DomainError } from '../../../platform/errors.ts';
import { amountToJson } from '../../../platform/money.ts';
import { statusAt, successRedirect, type CheckoutSession } from '../domain/session.ts';
import { findSession } from '../infra/session-repository.ts';
import type { CheckoutDependencies } from './ports.ts';

const notFound = () => new DomainError('checkout_session_not_found', 404, 'No such checkout session.');

export function describeSession(session: CheckoutSession, now: Date, url: string) {
  return {
    id: session.id,
    url,
    status: statusAt(session, now),
    amount: amountToJson(session.amount),
    currency: session.currency,
    description: session.description,
    successUrl: session.successUrl,
    cancelUrl: session.cancelUrl,
    capture: session.capture,
    createdAt: session.createdAt.toISOString(),
    expiresAt: session.expiresAt.toISOString(),
    ...(session.paymentId !== undefined && { paymentId: session.paymentId }),
    ...(session.completedAt !== undefined && { completedAt: session.completedAt.toISOString() }),
  };
}

export async function readSession(
  dependencies: CheckoutDependencies,
  merchantId: string,
  sessionId: string,
): Promise<CheckoutSession> {
  const session = await findSession(dependencies.sql, sessionId, merchantId);
  if (!session) throw notFound();
  return session;
}

/** The payer's view: nothing of the merchant's but its name, and no payment ids. */
export async function readSessionForPayer(dependencies: CheckoutDependencies, sessionId: string) {
  const session = await findSession(dependencies.sql, sessionId);
  if (!session) throw notFound();
  const [merchantName, publishableKey] = await Promise.all([
    dependencies.merchants.name(session.merchantId),
    dependencies.merchants.publishableKey(session.merchantId),
  ]);
  const status = statusAt(session, dependencies.clock.now());
  return {
    id: session.id,
    status,
    merchantName: merchantName ?? 'Merchant',
    amount: amountToJson(session.amount),
    currency: session.currency,
    description: session.description,
    expiresAt: session.expiresAt.toISOString(),
    cancelUrl: session.cancelUrl,
    ...(publishableKey !== undefined && status === 'open' && { publishableKey }),
    ...(status === 'completed' && { redirectUrl: successRedirect(session) }),
  };
}
