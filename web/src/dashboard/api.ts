// The dashboard's calls: same origin, the session cookie sent by the browser (httpOnly: this code
// never sees it), the CSRF token on every change, and an Idempotency-Key per confirmed action.
export interface SignedInUser {
  readonly id: string;
  readonly email: string;
  /** `operator` (ADR 32): PayFlow's own staff, no merchant; the /v1/admin routes decide. */
  readonly role: 'owner' | 'developer' | 'analyst' | 'operator';
  readonly merchantId: string | null;
  readonly merchantName: string;
  readonly scopes: readonly string[];
}

export interface DashboardSession {
  readonly user: SignedInUser;
  readonly csrfToken: string;
}

export interface Payment {
  readonly paymentId: string;
  readonly status: string;
  readonly amount: number;
  readonly currency: string;
  readonly authorizedAmount?: number;
  readonly capturedAmount?: number;
  readonly refundedAmount?: number;
  readonly createdAt: string;
  readonly paymentMethod?: { readonly type?: string; readonly token?: string };
  /** In lists: the card's (or wallet's) brand and last 4, from the vault. */
  readonly card?: { readonly brand: string; readonly last4: string };
}

export interface RiskReason {
  readonly rule: string;
  readonly action: string;
  readonly values: Readonly<Record<string, unknown>>;
}

export interface PaymentDetail extends Payment {
  readonly declineCode?: string;
  readonly outcome?: string;
  readonly pendingOperation?: string;
  readonly review?: 'pending' | 'approved' | 'rejected';
  readonly risk?: {
    readonly decision: 'allow' | 'review' | 'block';
    readonly score: number;
    readonly riskLevel: string;
    readonly reasons: readonly RiskReason[];
    readonly rulesetVersion: number;
  };
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly ledgerBalance: number;
  readonly ledgerHold: number;
  readonly ledgerEntries: readonly {
    readonly entryId: string;
    readonly type: string;
    readonly account: string;
    readonly amount: number;
    readonly createdAt: string;
  }[];
}

export interface TimelineEntry {
  readonly type: string;
  readonly at: string;
  readonly amount?: number;
  readonly refundId?: string;
  readonly detail?: string;
}

/** Sums of the ledger: decimal strings of minor units, exact past 2^53 (ADR 27). */
export interface Balance {
  readonly currency: string;
  readonly pending: string;
  readonly available: string;
  readonly inTransit: string;
  readonly authorized: string;
}

export interface VolumeDay {
  readonly date: string;
  readonly count: number;
  readonly authorizedCount: number;
  readonly capturedCount: number;
  /** Sums: decimal strings of minor units (ADR 27). */
  readonly capturedAmount: string;
  readonly refundedAmount: string;
}

export interface Volume {
  readonly from: string;
  readonly to: string;
  readonly currencies: readonly { readonly currency: string; readonly days: readonly VolumeDay[] }[];
}

export interface FraudRule {
  readonly id: string;
  readonly action: string;
  readonly rule: string;
  readonly description: string | null;
  readonly enabled: boolean;
  readonly version: number;
}

export interface ApiClient {
  readonly clientId: string;
  readonly role: string;
  readonly description: string | null;
  readonly status: 'active' | 'disabled';
  readonly createdAt: string;
  readonly secretRotatedAt: string | null;
  readonly disabledAt: string | null;
}

export interface WebhookEndpoint {
  readonly id: string;
  readonly url: string;
  readonly eventTypes: readonly string[];
  readonly enabled: boolean;
  readonly disabledReason: string | null;
  readonly failureCount: number;
  readonly createdAt: string;
}

export interface WebhookDelivery {
  readonly id: string;
  readonly endpointId: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly status: 'pending' | 'succeeded' | 'failed';
  readonly attemptCount: number;
  readonly nextAttemptAt: string | null;
  readonly createdAt: string;
  readonly attempts: readonly {
    readonly attemptNumber: number;
    readonly attemptedAt: string;
    readonly statusCode: number | null;
    readonly error: string | null;
    readonly succeeded: boolean;
  }[];
}

export interface Merchant {
  readonly merchantId: string;
  readonly name: string;
  readonly email: string | null;
  readonly status: 'active' | 'disabled';
  readonly createdAt: string;
  readonly disabledAt: string | null;
  readonly disabledReason: string | null;
  readonly activeClients: number;
  readonly dashboardUsers: number;
}

export interface AdminClient extends ApiClient {
  readonly merchantId: string | null;
  readonly disabledReason: string | null;
}

export interface DeadLetter {
  readonly id: string;
  readonly topic: string;
  readonly consumerGroup: string;
  readonly eventId: string;
  readonly type: string;
  readonly aggregateId: string;
  readonly error: string;
  readonly attempts: number;
  readonly deadAt: string;
}

/** An operation whose acquirer outcome stayed unknown past the whole inquiry schedule (ADR 34). */
export interface UnresolvedPayment {
  readonly paymentId: string;
  readonly resourceId: string;
  readonly merchantId: string;
  readonly operation: 'authorize' | 'capture' | 'refund' | 'void';
  readonly amount: number;
  readonly currency: string;
  readonly paymentStatus: string;
  readonly inquiries: number;
  readonly createdAt: string;
  readonly lastInquiryAt: string;
}

export interface JobRun {
  readonly id: string;
  readonly job: string;
  readonly parameters: string;
  readonly status: string;
  readonly chunksDone: number;
  readonly itemsDone: number;
  readonly readCount?: number;
  readonly skipCount?: number;
  readonly attempts: number;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly lastError?: string;
}

export interface ReconciliationException {
  readonly id: string;
  readonly runId: string;
  readonly line: number | null;
  readonly outcome: string;
  readonly reference: string | null;
  readonly currency: string | null;
  /** Sums: decimal strings of minor units (ADR 27). */
  readonly expectedAmount: string | null;
  readonly reportedAmount: string | null;
  readonly detail: string | null;
  readonly status: string;
  readonly resolution: string | null;
}

export interface PaymentPage {
  readonly data: readonly Payment[];
  readonly nextCursor: string | null;
}

export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly body: Record<string, unknown>,
  ) {
    super(detail || code);
  }
}

async function request<T>(
  method: string,
  path: string,
  options: { body?: unknown; csrfToken?: string; idempotencyKey?: string } = {},
): Promise<T> {
  const headers: Record<string, string> = {};
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.csrfToken) headers['x-csrf-token'] = options.csrfToken;
  if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
    });
  } catch {
    throw new ApiProblem(0, 'network_error', 'PayFlow cannot be reached. Check your connection.', {});
  }
  const text = await response.text();
  const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  if (!response.ok) {
    throw new ApiProblem(
      response.status,
      typeof body['code'] === 'string' ? body['code'] : 'unknown_error',
      typeof body['detail'] === 'string' ? body['detail'] : '',
      body,
    );
  }
  return body as T;
}

export const api = {
  session: () => request<DashboardSession>('GET', '/dashboard/api/session'),
  signIn: (email: string, password: string) =>
    request<DashboardSession>('POST', '/dashboard/api/session', { body: { email, password } }),
  signOut: (csrfToken: string) => request<void>('DELETE', '/dashboard/api/session', { csrfToken }),
  /** `search`: the API's query parameters (see payment-search.ts). */
  payments: (search: string, cursor: string | undefined) =>
    request<PaymentPage>(
      'GET',
      `/v1/payments?limit=25${search ? `&${search}` : ''}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    ),
  /** A card token's public description (brand, last 4): payments keep the token, the vault the card. */
  token: (token: string) =>
    request<{ card?: { brand: string; last4: string }; wallet?: { brand: string; last4: string } }>(
      'GET',
      `/v1/tokens/${encodeURIComponent(token)}`,
    ),
  fraudRules: () =>
    request<{ data: readonly FraudRule[]; builtin: readonly { id: string; action: string; rule: string }[] }>(
      'GET',
      '/v1/fraud/rules',
    ),
  createFraudRule: (body: { rule: string; description?: string }, csrfToken: string) =>
    request<FraudRule>('POST', '/v1/fraud/rules', { body, csrfToken }),
  changeFraudRule: (id: string, body: { rule?: string; enabled?: boolean }, csrfToken: string) =>
    request<FraudRule>('PATCH', `/v1/fraud/rules/${encodeURIComponent(id)}`, { body, csrfToken }),
  reviews: () => request<{ data: readonly Payment[] }>('GET', '/v1/fraud/reviews'),
  decideReview: (paymentId: string, decision: 'approve' | 'reject', csrfToken: string) =>
    request<Payment>('POST', `/v1/fraud/reviews/${encodeURIComponent(paymentId)}/${decision}`, {
      body: {},
      csrfToken,
    }),
  clients: () =>
    request<{ data: readonly ApiClient[]; publishableKey: string | null }>('GET', '/dashboard/api/clients'),
  createClient: (description: string, csrfToken: string) =>
    request<{ clientId: string; clientSecret: string }>('POST', '/dashboard/api/clients', {
      body: description ? { description } : {},
      csrfToken,
    }),
  rotateClient: (clientId: string, csrfToken: string) =>
    request<{ clientId: string; clientSecret: string }>(
      'POST',
      `/dashboard/api/clients/${encodeURIComponent(clientId)}/rotate-secret`,
      { csrfToken },
    ),
  changeClient: (clientId: string, verb: 'disable' | 'enable', csrfToken: string) =>
    request<ApiClient>('POST', `/dashboard/api/clients/${encodeURIComponent(clientId)}/${verb}`, {
      csrfToken,
    }),
  requestLog: () =>
    request<{
      data: readonly {
        method: string;
        path: string;
        status: number;
        durationMs: number;
        requestId: string;
        clientId: string;
        at: string;
      }[];
    }>('GET', '/dashboard/api/request-log'),
  webhookEventTypes: () => request<{ data: readonly string[] }>('GET', '/v1/webhooks/event-types'),
  webhookEndpoints: () => request<{ data: readonly WebhookEndpoint[] }>('GET', '/v1/webhooks/endpoints'),
  createWebhookEndpoint: (body: { url: string; eventTypes: readonly string[] }, csrfToken: string) =>
    request<WebhookEndpoint & { secret: string }>('POST', '/v1/webhooks/endpoints', {
      body,
      csrfToken,
      idempotencyKey: crypto.randomUUID(),
    }),
  rotateWebhookSecret: (id: string, csrfToken: string) =>
    request<WebhookEndpoint & { secret: string }>(
      'POST',
      `/v1/webhooks/endpoints/${encodeURIComponent(id)}/rotate-secret`,
      { csrfToken, idempotencyKey: crypto.randomUUID() },
    ),
  changeWebhookEndpoint: (id: string, verb: 'enable' | 'disable', csrfToken: string) =>
    request<WebhookEndpoint>('POST', `/v1/webhooks/endpoints/${encodeURIComponent(id)}/${verb}`, {
      csrfToken,
      idempotencyKey: crypto.randomUUID(),
    }),
  endpointDeliveries: (id: string) =>
    request<{ data: readonly WebhookDelivery[] }>(
      'GET',
      `/v1/webhooks/endpoints/${encodeURIComponent(id)}/deliveries`,
    ),
  paymentDeliveries: (paymentId: string) =>
    request<{ data: readonly WebhookDelivery[] }>(
      'GET',
      `/v1/webhooks/deliveries?paymentId=${encodeURIComponent(paymentId)}`,
    ),
  resendDelivery: (id: string, csrfToken: string) =>
    request<WebhookDelivery>('POST', `/v1/webhooks/deliveries/${encodeURIComponent(id)}/retry`, {
      csrfToken,
      idempotencyKey: crypto.randomUUID(),
    }),
  // The operator view (ADR 32): the admin API itself, with the operator's session.
  merchants: () => request<{ data: readonly Merchant[] }>('GET', '/v1/admin/merchants'),
  createMerchant: (body: { name: string; email?: string }, csrfToken: string) =>
    request<{ merchantId: string; clientId: string; clientSecret: string; publishableKey: string }>(
      'POST',
      '/v1/admin/merchants',
      { body, csrfToken },
    ),
  disableMerchant: (merchantId: string, csrfToken: string) =>
    request<Merchant>('POST', `/v1/admin/merchants/${encodeURIComponent(merchantId)}/disable`, {
      body: {},
      csrfToken,
    }),
  adminClients: () => request<{ data: readonly AdminClient[] }>('GET', '/v1/admin/clients'),
  changeAdminClient: (clientId: string, verb: 'disable' | 'enable', csrfToken: string) =>
    request<AdminClient>('POST', `/v1/admin/clients/${encodeURIComponent(clientId)}/${verb}`, {
      body: {},
      csrfToken,
    }),
  deadLetters: () => request<{ data: readonly DeadLetter[] }>('GET', '/v1/admin/events/dead-letters'),
  replayDeadLetter: (id: string, csrfToken: string) =>
    request<{ id: string }>('POST', `/v1/admin/events/dead-letters/${encodeURIComponent(id)}/replay`, {
      csrfToken,
    }),
  unresolvedPayments: () =>
    request<{ data: readonly UnresolvedPayment[] }>('GET', '/v1/admin/payments/unresolved'),
  resolvePayment: (id: string, csrfToken: string) =>
    request<{
      resourceId: string;
      operation: string;
      answer: { status: number };
      payment: { status: string };
    }>('POST', `/v1/admin/payments/${encodeURIComponent(id)}/resolve`, { body: {}, csrfToken }),
  jobs: () => request<{ data: readonly JobRun[] }>('GET', '/v1/admin/settlement/runs?limit=100'),
  reconciliationExceptions: () =>
    request<{ data: readonly ReconciliationException[] }>('GET', '/v1/admin/reconciliation/exceptions'),
  resolveException: (id: string, reason: string, csrfToken: string) =>
    request<{ id: string; status: string }>(
      'POST',
      `/v1/admin/reconciliation/exceptions/${encodeURIComponent(id)}/resolve`,
      { body: { reason }, csrfToken },
    ),
  balance: () => request<{ balances: readonly Balance[] }>('GET', '/v1/balance'),
  volume: (days: number) => request<Volume>('GET', `/v1/payments/volume?days=${days}`),
  payment: (paymentId: string) =>
    request<PaymentDetail>('GET', `/v1/payments/${encodeURIComponent(paymentId)}`),
  timeline: (paymentId: string) =>
    request<{ currency: string; data: readonly TimelineEntry[] }>(
      'GET',
      `/v1/payments/${encodeURIComponent(paymentId)}/timeline`,
    ),
  capture: (paymentId: string, amount: number, csrfToken: string, idempotencyKey: string) =>
    request<Payment>('POST', `/v1/payments/${encodeURIComponent(paymentId)}/capture`, {
      body: { amount },
      csrfToken,
      idempotencyKey,
    }),
  void: (paymentId: string, csrfToken: string, idempotencyKey: string) =>
    request<Payment>('POST', `/v1/payments/${encodeURIComponent(paymentId)}/void`, {
      body: {},
      csrfToken,
      idempotencyKey,
    }),
  refund: (paymentId: string, amount: number, csrfToken: string, idempotencyKey: string) =>
    request<Record<string, unknown>>('POST', `/v1/payments/${encodeURIComponent(paymentId)}/refund`, {
      body: { amount },
      csrfToken,
      idempotencyKey,
    }),
};

export function messageFor(error: unknown): string {
  if (!(error instanceof ApiProblem)) return 'Something went wrong. Please try again.';
  switch (error.code) {
    case 'invalid_credentials':
      return 'The email or password is not right.';
    case 'account_locked': {
      const seconds = Number(error.body['retryAfterSeconds'] ?? 900);
      return `Too many failed sign-ins. Try again in ${Math.max(1, Math.ceil(seconds / 60))} minutes.`;
    }
    case 'insufficient_scope':
      return 'Your role cannot do this. Ask an owner of this account.';
    case 'merchant_token_required':
      return 'This page belongs to a merchant account; operators use the operator pages.';
    case 'dead_letter_not_found':
      return 'This event was replayed already.';
    case 'csrf_token_invalid':
    case 'session_expired':
      return 'Your session has ended. Please sign in again.';
    case 'refund_exceeds_captured':
      return 'That is more than what is left to refund on this payment.';
    case 'capture_exceeds_authorized':
      return 'That is more than what was authorized on this payment.';
    case 'payment_in_review':
      return 'This payment is in fraud review: approve it in the review queue before capturing.';
    case 'payment_operation_in_progress':
      return 'Another capture or void of this payment is still in progress. Try again in a moment.';
    case 'already_captured':
      return 'This payment is already captured.';
    case 'payment_voided':
      return 'This payment was voided.';
    case 'payment_expired':
      return 'The authorization of this payment has expired.';
    case 'payment_not_in_review':
      return 'This payment is no longer waiting for a review decision.';
    case 'search_too_broad':
      return 'Too many cards end in these 4 digits: add a date range or another filter.';
    case 'webhook_url_invalid':
    case 'webhook_url_forbidden':
      return error.detail || 'PayFlow cannot send webhooks to this address.';
    case 'webhook_endpoint_disabled':
      return 'The endpoint of this delivery is disabled: enable it first.';
    case 'payment_not_found':
      return 'There is no such payment on this account.';
    default:
      return error.detail || 'Something went wrong. Please try again.';
  }
}
