// The checkout page's calls, all same-origin: read the session, get a publishable-key token, turn
// the card into a vault token (the card goes from this browser straight to POST /v1/tokens), pay.
export interface PayerSession {
  readonly id: string;
  readonly status: 'open' | 'completed' | 'expired';
  readonly merchantName: string;
  readonly amount: number;
  readonly currency: string;
  readonly description: string;
  readonly expiresAt: string;
  readonly cancelUrl: string;
  readonly publishableKey?: string;
  readonly redirectUrl?: string;
}

export interface CardInput {
  readonly number: string;
  readonly expMonth: number;
  readonly expYear: number;
  readonly cvc: string;
  readonly holderName?: string;
}

/** A problem+json answer: its stable code picks the words the payer sees. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly details: Record<string, unknown>,
  ) {
    super(code);
  }
}

async function json(response: Response): Promise<Record<string, unknown>> {
  try {
    return (await response.json()) as Record<string, unknown>;
  } catch {
    return {};
  }
}

async function send(
  input: string,
  init: RequestInit,
): Promise<{ status: number; body: Record<string, unknown> }> {
  let response: Response;
  try {
    response = await fetch(input, { ...init, credentials: 'omit', cache: 'no-store' });
  } catch {
    throw new ApiProblem(0, 'network_error', {});
  }
  const body = await json(response);
  if (!response.ok && response.status !== 202) {
    const code =
      typeof body['code'] === 'string'
        ? body['code']
        : typeof body['error'] === 'string'
          ? body['error']
          : 'unknown_error';
    throw new ApiProblem(response.status, code, body);
  }
  return { status: response.status, body };
}

export async function loadSession(sessionId: string): Promise<PayerSession> {
  const { body } = await send(`/v1/checkout/sessions/${encodeURIComponent(sessionId)}/payer`, {
    method: 'GET',
  });
  return body as unknown as PayerSession;
}

export async function tokenizeCard(publishableKey: string, card: CardInput): Promise<string> {
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: publishableKey });
  const { body: grant } = await send('/oauth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
  const { body } = await send('/v1/tokens', {
    method: 'POST',
    headers: { authorization: `Bearer ${String(grant['access_token'])}`, 'content-type': 'application/json' },
    body: JSON.stringify({ card }),
  });
  return String(body['token']);
}

export type PayResult =
  { readonly status: 'completed'; readonly redirectUrl: string } | { readonly status: 'processing' };

export async function paySession(sessionId: string, token: string): Promise<PayResult> {
  const { body } = await send(`/v1/checkout/sessions/${encodeURIComponent(sessionId)}/pay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  return body as unknown as PayResult;
}
