// The checkout authorizes through the payments API itself (POST /v1/payments/authorize, in-process via
// Fastify's inject), as a merchant client of its own: payments stays the only writer of payments,
// with its idempotency keys, ledger and events, and checkout sees only its public contract.
import type { HttpApp } from '../../../platform/http/app.ts';
import { amountToJson } from '../../../platform/money.ts';
import type { SecretSealer } from '../../../platform/secrets.ts';
import type { Sql } from '../../../platform/db/client.ts';
import type { Clock } from '../../../platform/clock.ts';
import { isErrorCode, type ErrorCode, type StatusOf } from '../../../platform/error-codes.ts';
import type { AuthorizationOutcome, AuthorizationRequest, PaymentAuthorizer } from '../application/ports.ts';
import { findMerchantClient, insertMerchantClient } from './session-repository.ts';

/** What the checkout needs of identity: a merchant client, and tokens for it. */
export interface CheckoutIdentity {
  createClient(input: {
    role: 'merchant';
    merchantId: string;
    description: string;
  }): Promise<{ clientId: string; clientSecret: string }>;
  issueClientToken(
    clientId: string,
    clientSecret: string,
  ): Promise<{ access_token: string; expires_in: number }>;
}

/** A cached token is used until this long before it expires. */
const tokenRenewBeforeExpiryMs = 60_000;
/** Cached merchant tokens kept at most (least recently issued dropped first). */
const tokenCacheMax = 1_000;

/** How a merchant's checkout client secret is sealed (ADR 16); the manifest declares it for rotation. */
export const bindingOf = (merchantId: string) => ({
  table: 'checkout.merchant_clients',
  id: merchantId,
  column: 'client_secret',
});

export function checkoutClients(dependencies: {
  sql: Sql;
  clock: Clock;
  sealer: SecretSealer;
  identity: CheckoutIdentity;
}) {
  const { sql, clock, sealer, identity } = dependencies;
  const tokens = new Map<string, { token: string; renewAtMs: number }>();

  async function credentials(merchantId: string): Promise<{ clientId: string; clientSecret: string }> {
    const stored = await findMerchantClient(sql, merchantId);
    if (stored)
      return {
        clientId: stored.client_id,
        clientSecret: sealer.unseal(stored.client_secret_sealed, bindingOf(merchantId)),
      };
    const created = await identity.createClient({
      role: 'merchant',
      merchantId,
      description: 'PayFlow hosted checkout',
    });
    await insertMerchantClient(sql, {
      merchantId,
      clientId: created.clientId,
      clientSecretSealed: sealer.seal(created.clientSecret, bindingOf(merchantId)),
      createdAt: clock.now(),
    });
    // Two first sessions at once: the stored one wins; the other client is simply never used.
    const winner = await findMerchantClient(sql, merchantId);
    return winner && winner.client_id !== created.clientId
      ? {
          clientId: winner.client_id,
          clientSecret: sealer.unseal(winner.client_secret_sealed, bindingOf(merchantId)),
        }
      : created;
  }

  return {
    /** Makes sure the merchant has a checkout client (called when a session is created). */
    ensure: async (merchantId: string) => void (await credentials(merchantId)),
    async tokenFor(merchantId: string): Promise<string> {
      const cached = tokens.get(merchantId);
      if (cached && cached.renewAtMs > clock.now().getTime()) return cached.token;
      const { clientId, clientSecret } = await credentials(merchantId);
      const issued = await identity.issueClientToken(clientId, clientSecret);
      if (tokens.size >= tokenCacheMax) tokens.delete(tokens.keys().next().value as string);
      tokens.set(merchantId, {
        token: issued.access_token,
        renewAtMs: clock.now().getTime() + issued.expires_in * 1000 - tokenRenewBeforeExpiryMs,
      });
      return issued.access_token;
    },
    forget: (merchantId: string) => void tokens.delete(merchantId),
  };
}

export type CheckoutClients = ReturnType<typeof checkoutClients>;

function outcomeOf(status: number, body: Record<string, unknown>): AuthorizationOutcome {
  const paymentId = typeof body['paymentId'] === 'string' ? body['paymentId'] : undefined;
  const paymentStatus = body['status'];
  if (status === 201 && paymentId && (paymentStatus === 'AUTHORIZED' || paymentStatus === 'CAPTURED'))
    return { kind: 'approved', paymentId };
  // 409 (the key in flight, or — never expected — the key with another body): not a known failure,
  // so the attempt stays and nothing lets another card pay until it is known.
  if (status === 202 || status === 409) return { kind: 'pending', paymentId };
  if (status === 422 && body['paymentStatus'] !== undefined)
    return {
      kind: 'declined',
      paymentId,
      declineCode:
        typeof body['declineCode'] === 'string'
          ? body['declineCode']
          : typeof body['code'] === 'string'
            ? body['code']
            : 'card_declined',
    };
  if (status >= 400 && status < 500)
    return {
      kind: 'refused',
      // Payments' own answer, relayed: its code (from the catalogue) with its status.
      status: status as StatusOf<ErrorCode>,
      code: isErrorCode(body['code']) ? body['code'] : 'payment_refused',
      detail: typeof body['detail'] === 'string' ? body['detail'] : 'The payment could not be made.',
    };
  // 5xx and anything unexpected: the outcome is not known; the same key asks again later.
  return { kind: 'pending', paymentId };
}

export function paymentsApiAuthorizer(app: HttpApp, clients: CheckoutClients): PaymentAuthorizer {
  return {
    async authorize(merchantId: string, request: AuthorizationRequest): Promise<AuthorizationOutcome> {
      for (let round = 0; round < 2; round += 1) {
        const token = await clients.tokenFor(merchantId);
        const response = await app.inject({
          method: 'POST',
          url: '/v1/payments/authorize',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'idempotency-key': request.idempotencyKey,
          },
          payload: JSON.stringify({
            amount: amountToJson(request.amount),
            currency: request.currency,
            paymentMethod: { type: 'card', token: request.token },
            capture: request.capture,
            metadata: { checkoutSessionId: request.sessionId },
            ...(request.payerIp !== undefined && { payer: { ipAddress: request.payerIp } }),
          }),
        });
        // A token refused (expired early, signing key rotated): drop it and try once with a new one.
        if (response.statusCode === 401 && round === 0) {
          clients.forget(merchantId);
          continue;
        }
        let body: Record<string, unknown> = {};
        try {
          body = response.json<Record<string, unknown>>();
        } catch {
          body = {};
        }
        return outcomeOf(response.statusCode, body);
      }
      // Refused twice before payments ran: nothing was authorized, so the card may try again.
      return {
        kind: 'refused',
        status: 503,
        code: 'checkout_unavailable',
        detail: 'The checkout cannot reach payments right now; try again shortly.',
      };
    },
  };
}
