// PayFlow client SDK, typed by hand over /openapi.json (ADR 26). Money is bigint minor units, never a float.
import { randomUUID } from 'node:crypto';

export {
  generateWebhookSecret,
  signWebhook,
  verifyWebhook,
  WebhookVerificationError,
  type WebhookVerificationErrorCode,
} from './webhooks.ts';

export type PaymentStatus = string;

export interface Payment {
  readonly paymentId: string;
  readonly status: PaymentStatus;
  readonly amount: bigint;
  readonly currency: string;
  readonly [field: string]: unknown;
}

/** One currency of `GET /v1/balance`, in minor units (sums: exact past 2^53). */
export interface Balance {
  readonly currency: string;
  readonly pending: bigint;
  readonly available: bigint;
  readonly inTransit: bigint;
  readonly authorized: bigint;
}

export interface Refund {
  readonly refundId: string;
  readonly paymentId: string;
  readonly status: string;
  readonly refundedAmount: bigint;
  readonly [field: string]: unknown;
}

/** A settlement batch: one merchant, acquirer, currency and day (sums as bigint). */
export interface Settlement {
  readonly id: string;
  readonly settlementDate: string;
  readonly acquirer: string;
  readonly currency: string;
  readonly itemCount: number;
  readonly gross: bigint;
  readonly refunds: bigint;
  readonly fees: bigint;
  readonly net: bigint;
  readonly runId: string;
  readonly createdAt: string;
  readonly [field: string]: unknown;
}

/** A payout of a settled net amount to the merchant's bank. */
export interface Payout {
  readonly id: string;
  readonly currency: string;
  readonly amount: bigint;
  readonly status: string;
  readonly failureReason?: string;
  readonly createdAt: string;
  readonly sentAt?: string;
  readonly finishedAt?: string;
}

/** `GET /v1/payments/volume`: per currency, per UTC day. */
export interface Volume {
  readonly from: string;
  readonly to: string;
  readonly currencies: readonly {
    readonly currency: string;
    readonly days: readonly {
      readonly date: string;
      readonly count: number;
      readonly capturedCount: number;
      readonly capturedAmount: bigint;
      readonly refundedAmount: bigint;
    }[];
  }[];
}

/** What a settlement run did (operator). */
export interface SettlementRun {
  readonly runId: string;
  readonly date: string;
  readonly outcome: string;
  readonly summary: Readonly<Record<string, unknown>>;
}

/** The counts of one reconciliation run, by outcome (`matched`, `amount_mismatch`, …). */
export type ReconciliationCounts = Readonly<Record<string, number>>;

export interface ReconciliationResult {
  readonly runId: string;
  readonly alreadyReconciled: boolean;
  readonly rows: number;
  readonly counts: ReconciliationCounts;
  readonly [field: string]: unknown;
}

export interface ReconciliationException {
  readonly id: string;
  readonly runId: string;
  readonly outcome: string;
  readonly reference: string | null;
  readonly currency: string | null;
  readonly expectedAmount: bigint | null;
  readonly reportedAmount: bigint | null;
  readonly status: string;
  readonly [field: string]: unknown;
}

/** A problem+json answer (RFC 9457) with PayFlow's stable `code`. */
export class PayFlowError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problem: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = 'PayFlowError';
  }
}

export interface PayFlowClientOptions {
  readonly baseUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly scope?: string;
  /** Attempts per logical call (first try included); default 4. */
  readonly maxAttempts?: number;
  /** First backoff in ms, doubled each retry; default 100. */
  readonly backoffMs?: number;
  /** Refresh the token this many seconds before it expires; default 30. */
  readonly refreshBeforeSeconds?: number;
  readonly fetch?: typeof fetch;
}

/**
 * Money fields of answers, read as bigint in both forms the API sends (ADR 27): one operation's
 * amount is a JSON integer (at most 11 digits, exact as a number); a sum (balance, settlement or
 * payout total, volume) is a decimal string of minor units, exact at any size.
 */
const moneyFields = new Set([
  // One operation's amount: JSON integers.
  'amount',
  'authorizedAmount',
  'capturedAmount',
  'refundedAmount',
  'captureAmount',
  'amountMinor',
  'ledgerBalance',
  'ledgerHold',
  'fee',
  // Sums: decimal strings.
  'pending',
  'available',
  'inTransit',
  'authorized',
  'gross',
  'refunds',
  'fees',
  'net',
  'acquirerCosts',
  'expectedAmount',
  'reportedAmount',
]);
const totalText = /^(0|-?[1-9][0-9]*)$/;

function reviveMoney(key: string, value: unknown): unknown {
  if (!moneyFields.has(key)) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && totalText.test(value)) return BigInt(value);
  return value;
}

/** bigint is written as a JSON integer, digit for digit (no float on the way). */
function stringify(body: unknown): string {
  const marker = '\u0000bigint:';
  const text = JSON.stringify(body, (_key, value: unknown) =>
    typeof value === 'bigint' ? `${marker}${value.toString()}` : value,
  );
  return text.replace(/"\\u0000bigint:(-?\d+)"/g, '$1');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class PayFlowClient {
  readonly #options: PayFlowClientOptions;
  readonly #fetch: typeof fetch;
  #token: { value: string; expiresAt: number } | undefined;
  #pendingToken: Promise<string> | undefined;

  constructor(options: PayFlowClientOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? fetch;
  }

  /** A bearer token, fetched again `refreshBeforeSeconds` before it expires. */
  async accessToken(): Promise<string> {
    const margin = (this.#options.refreshBeforeSeconds ?? 30) * 1000;
    if (this.#token !== undefined && Date.now() < this.#token.expiresAt - margin) return this.#token.value;
    this.#pendingToken ??= this.#fetchToken().finally(() => (this.#pendingToken = undefined));
    return this.#pendingToken;
  }

  async #fetchToken(): Promise<string> {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (this.#options.scope !== undefined) form.set('scope', this.#options.scope);
    const basic = Buffer.from(
      `${encodeURIComponent(this.#options.clientId)}:${encodeURIComponent(this.#options.clientSecret)}`,
    ).toString('base64');
    const response = await this.#fetch(`${this.#options.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    const body = (await response.json()) as Record<string, unknown>;
    if (!response.ok || typeof body.access_token !== 'string') {
      const code = typeof body.error === 'string' ? body.error : 'token_refused';
      throw new PayFlowError(response.status, code, String(body.error_description ?? code), body);
    }
    const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : 300;
    this.#token = { value: body.access_token, expiresAt: Date.now() + expiresIn * 1000 };
    return body.access_token;
  }

  /**
   * One logical call. Unsafe methods carry one Idempotency-Key reused on every retry. Retries only on
   * network errors, 503 (honouring Retry-After) and 409 idempotency_key_in_use.
   */
  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    options: { idempotencyKey?: string } = {},
  ): Promise<T> {
    const unsafe = method !== 'GET' && method !== 'HEAD';
    const key = unsafe ? (options.idempotencyKey ?? randomUUID()) : undefined;
    const attempts = this.#options.maxAttempts ?? 4;
    let backoff = this.#options.backoffMs ?? 100;
    for (let attempt = 1; ; attempt++) {
      const token = await this.accessToken();
      let response: Response;
      try {
        response = await this.#fetch(`${this.#options.baseUrl}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'application/json',
            ...(body !== undefined && { 'content-type': 'application/json' }),
            ...(key !== undefined && { 'idempotency-key': key }),
          },
          ...(body !== undefined && { body: stringify(body) }),
        });
      } catch (error) {
        if (attempt >= attempts) throw error;
        await sleep(backoff);
        backoff *= 2;
        continue;
      }
      const text = await response.text();
      const parsed = (text === '' ? {} : JSON.parse(text, reviveMoney)) as Record<string, unknown>;
      if (response.ok) return parsed as T;
      const code = typeof parsed.code === 'string' ? parsed.code : `http_${response.status}`;
      const retryable =
        response.status === 503 || (response.status === 409 && code === 'idempotency_key_in_use');
      if (response.status === 401 && attempt === 1) this.#token = undefined;
      if ((retryable || (response.status === 401 && attempt === 1)) && attempt < attempts) {
        const retryAfter = Number(response.headers.get('retry-after'));
        await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : backoff);
        backoff *= 2;
        continue;
      }
      throw new PayFlowError(response.status, code, String(parsed.detail ?? parsed.title ?? code), parsed);
    }
  }

  tokenizeCard(card: {
    number: string;
    expMonth: number;
    expYear: number;
    cvc: string;
  }): Promise<{ token: string }> {
    return this.request('POST', '/v1/tokens', { card });
  }

  authorize(
    input: {
      amount: bigint;
      currency: string;
      paymentMethod: { type: 'card'; token: string };
      capture?: boolean;
      metadata?: Record<string, string | number | boolean | null>;
      /** What the fraud screening knows of the payer (never in events). */
      payer?: { email?: string; ipAddress?: string; billingCountry?: string };
    },
    options: { idempotencyKey?: string } = {},
  ): Promise<Payment> {
    return this.request('POST', '/v1/payments/authorize', input, options);
  }

  capture(
    id: string,
    input: { amount?: bigint } = {},
    options: { idempotencyKey?: string } = {},
  ): Promise<Payment> {
    return this.request('POST', `/v1/payments/${encodeURIComponent(id)}/capture`, input, options);
  }

  refund(
    id: string,
    input: { amount: bigint; reason?: string },
    options: { idempotencyKey?: string } = {},
  ): Promise<Refund> {
    return this.request('POST', `/v1/payments/${encodeURIComponent(id)}/refund`, input, options);
  }

  getPayment(id: string): Promise<Payment> {
    return this.request('GET', `/v1/payments/${encodeURIComponent(id)}`);
  }

  /** The merchant's pending, available, in-transit and authorized money per currency. */
  getBalance(): Promise<{ balances: Balance[] }> {
    return this.request('GET', '/v1/balance');
  }

  /** Per currency and UTC day over the last `days` days: payments created, captured and refunded. */
  getVolume(days = 14): Promise<Volume> {
    return this.request('GET', `/v1/payments/volume?days=${days}`);
  }

  /** The merchant's settlement batches, newest first (at most `limit`, ≤ 100). */
  async listSettlements(options: { limit?: number } = {}): Promise<Settlement[]> {
    const query = options.limit === undefined ? '' : `?limit=${options.limit}`;
    return (await this.request<{ data: Settlement[] }>('GET', `/v1/settlements${query}`)).data;
  }

  /** One settlement batch with its lines (payment, type, amount, fee). */
  getSettlement(id: string): Promise<Settlement & { lines: readonly Record<string, unknown>[] }> {
    return this.request('GET', `/v1/settlements/${encodeURIComponent(id)}`);
  }

  /** The merchant's payouts, newest first (at most `limit`, ≤ 100). */
  async listPayouts(options: { limit?: number } = {}): Promise<Payout[]> {
    const query = options.limit === undefined ? '' : `?limit=${options.limit}`;
    return (await this.request<{ data: Payout[] }>('GET', `/v1/payouts${query}`)).data;
  }

  getPayout(id: string): Promise<Payout> {
    return this.request('GET', `/v1/payouts/${encodeURIComponent(id)}`);
  }

  /** Operator (admin client): settle a day (`YYYY-MM-DD`); a day settled before is `already_completed`. */
  runSettlement(date: string, options: { idempotencyKey?: string } = {}): Promise<SettlementRun> {
    return this.request('POST', '/v1/admin/settlement/runs', { date }, options);
  }

  /**
   * Operator: fetch the acquirer's settlement report of a day and reconcile it row by row
   * (`simulatorFaults` asks the built-in simulator for discrepancies, for demos and tests).
   */
  fetchReconciliationReport(
    date: string,
    options: { simulatorFaults?: string; idempotencyKey?: string } = {},
  ): Promise<ReconciliationResult> {
    const { simulatorFaults, ...rest } = options;
    return this.request(
      'POST',
      '/v1/admin/reconciliation/fetch',
      { date, ...(simulatorFaults !== undefined && { simulatorFaults }) },
      rest,
    );
  }

  /** Operator: the latest reconciliation runs. */
  async listReconciliationRuns(options: { limit?: number } = {}): Promise<Record<string, unknown>[]> {
    const query = options.limit === undefined ? '' : `?limit=${options.limit}`;
    return (
      await this.request<{ data: Record<string, unknown>[] }>('GET', `/v1/admin/reconciliation/runs${query}`)
    ).data;
  }

  /** Operator: reconciliation exceptions, `open` or `resolved`. */
  async listReconciliationExceptions(
    options: { status?: 'open' | 'resolved'; limit?: number } = {},
  ): Promise<ReconciliationException[]> {
    const query = new URLSearchParams();
    if (options.status !== undefined) query.set('status', options.status);
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    return (
      await this.request<{ data: ReconciliationException[] }>(
        'GET',
        `/v1/admin/reconciliation/exceptions?${query.toString()}`,
      )
    ).data;
  }

  /** Operator: resolve an exception, with an adjustment journal when money really differs. */
  resolveReconciliationException(
    id: string,
    input: { reason: string; adjustment?: string },
    options: { idempotencyKey?: string } = {},
  ): Promise<{ id: string; status: string; adjustment?: Record<string, unknown> }> {
    return this.request(
      'POST',
      `/v1/admin/reconciliation/exceptions/${encodeURIComponent(id)}/resolve`,
      input,
      options,
    );
  }

  /** Every payment, newest first, following `nextCursor` page by page. */
  async *listPayments(filter: { status?: string; limit?: number } = {}): AsyncGenerator<Payment> {
    let cursor: string | undefined;
    do {
      const query = new URLSearchParams();
      if (filter.status !== undefined) query.set('status', filter.status);
      if (filter.limit !== undefined) query.set('limit', String(filter.limit));
      if (cursor !== undefined) query.set('cursor', cursor);
      const page = await this.request<{ data: Payment[]; nextCursor?: string | null }>(
        'GET',
        `/v1/payments?${query.toString()}`,
      );
      yield* page.data;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
  }
}
