// Every `code` PayFlow answers with in an application/problem+json body, with its HTTP status(es),
// what it means and what a client should do. This list is the one source: `DomainError` and
// `problem()` accept only these codes and, per code, only its statuses (the type checker refuses
// anything else); docs/errors.md is generated from it (`npm run docs:concepts`); the OpenAPI
// document lists it as the enum of the Problem schema's `code`.

/** What retrying can do for a client that got this code. */
export type Retry =
  /** The same request will get the same answer: change the request (or stop). */
  | 'no'
  /** The same request (same Idempotency-Key on a POST) can succeed later: retry with backoff. */
  | 'yes'
  /** Something else has to happen first (a new token, a review, the payment's outcome). */
  | 'after_change';

export type ErrorArea =
  | 'request'
  | 'authentication'
  | 'idempotency'
  | 'payments'
  | 'declines'
  | 'vault'
  | 'fraud'
  | 'webhooks'
  | 'checkout'
  | 'identity'
  | 'settlement'
  | 'platform';

export interface ErrorEntry {
  readonly area: ErrorArea;
  readonly status: readonly number[];
  readonly meaning: string;
  readonly retry: Retry;
  /** What the client should do, when more than the `retry` column says. */
  readonly action: string;
}

const entry = <const Status extends readonly number[]>(
  area: ErrorArea,
  status: Status,
  retry: Retry,
  meaning: string,
  action: string,
) => ({ area, status, retry, meaning, action });

/**
 * Decline codes of an acquirer that PayFlow answers with as they are (authorize, 422). Any other
 * decline code of an acquirer is answered as `card_declined`, with the acquirer's own code in the
 * body's `declineCode` member.
 */
export const acquirerDeclineCodes = [
  'card_declined',
  'insufficient_funds',
  'lost_card',
  'stolen_card',
  'expired_card',
  'incorrect_cvc',
  'processing_error',
  'customer_declined',
  'authorization_voided',
  'acquirer_rejected_request',
  'unknown_authorization',
  'acquirer_no_record',
] as const;

export const errorCatalogue = {
  // The request itself.
  validation_failed: entry(
    'request',
    [400],
    'no',
    'The body, query or path does not match the operation’s schema.',
    '`errors` lists each field (`path`, `message`); fix them.',
  ),
  malformed_json: entry('request', [400], 'no', 'The body is not valid JSON, or it is empty.', 'Send JSON.'),
  malformed_url: entry('request', [400], 'no', 'The request path is not a valid URL.', 'Fix the URL.'),
  malformed_request: entry(
    'request',
    [400],
    'no',
    'The bytes received are not valid HTTP.',
    'Fix the client or proxy.',
  ),
  invalid_content_length: entry(
    'request',
    [400],
    'no',
    'The Content-Length header does not match the body.',
    'Fix the client or proxy.',
  ),
  invalid_unicode: entry(
    'request',
    [400],
    'no',
    'A JSON string holds a lone UTF-16 surrogate.',
    'Send well-formed Unicode.',
  ),
  bad_request: entry(
    'request',
    [400, 401, 403, 404, 405, 406, 409, 410, 411, 412, 413, 415, 416, 422, 429],
    'no',
    'A client error PayFlow has no specific code for yet.',
    'Read `detail`; fix the request.',
  ),
  body_too_large: entry('request', [413], 'no', 'The body is larger than the limit.', 'Send less.'),
  unsupported_media_type: entry(
    'request',
    [415],
    'no',
    'The body is not sent as application/json.',
    'Set `Content-Type: application/json`.',
  ),
  path_too_long: entry('request', [414], 'no', 'A path parameter is longer than allowed.', 'Use a real id.'),
  headers_too_large: entry(
    'request',
    [431],
    'no',
    'The request headers are too large.',
    'Send fewer headers.',
  ),
  request_timeout: entry(
    'request',
    [408],
    'yes',
    'The request was not received in time.',
    'Retry; on a POST with the same Idempotency-Key.',
  ),
  route_not_found: entry(
    'request',
    [404],
    'no',
    'No operation has this method and path.',
    'See /openapi.json.',
  ),
  invalid_cursor: entry(
    'request',
    [400],
    'no',
    'The pagination cursor is not one PayFlow gave out.',
    'Pass `nextCursor` from the previous page as it is.',
  ),
  invalid_limit: entry(
    'request',
    [400],
    'no',
    '`limit` is out of range.',
    'Use 1 to the documented maximum.',
  ),
  invalid_metadata: entry(
    'request',
    [400],
    'no',
    '`metadata` has a key with control characters, a value with NUL, or is too large.',
    'Fix the metadata.',
  ),
  invalid_currency: entry(
    'request',
    [400],
    'no',
    'The currency is not an ISO 4217 code PayFlow supports.',
    'See docs/money.md.',
  ),

  // Authentication and authorization.
  authentication_required: entry(
    'authentication',
    [401],
    'after_change',
    'No access token was sent.',
    'Get one from `POST /oauth/token` and send `Authorization: Bearer …`.',
  ),
  invalid_token: entry(
    'authentication',
    [401],
    'after_change',
    'The access token is malformed, expired, revoked or not signed by PayFlow.',
    'Get a new token, then retry.',
  ),
  insufficient_scope: entry(
    'authentication',
    [403],
    'no',
    'The token lacks a scope the operation needs (`requiredScopes`).',
    'Use a client with that scope.',
  ),
  merchant_token_required: entry(
    'authentication',
    [403],
    'no',
    'The operation acts for a merchant; the token is an operator’s or a service’s.',
    'Use a merchant client’s token.',
  ),
  invalid_request: entry(
    'authentication',
    [400],
    'no',
    'OAuth token endpoint: the request is missing a parameter or repeats one (RFC 6749 §5.2).',
    'Fix the token request.',
  ),
  invalid_client: entry(
    'authentication',
    [401],
    'no',
    'OAuth token endpoint: unknown client, wrong secret, or the client is disabled.',
    'Check the client id and secret.',
  ),
  invalid_scope: entry(
    'authentication',
    [400],
    'no',
    'OAuth token endpoint: a requested scope is unknown or not granted to the client.',
    'Ask for the client’s scopes only.',
  ),
  unsupported_grant_type: entry(
    'authentication',
    [400],
    'no',
    'OAuth token endpoint: only `client_credentials` is supported.',
    'Use the client-credentials grant.',
  ),
  revocations_unavailable: entry(
    'authentication',
    [503],
    'yes',
    'Access tokens cannot be checked: the revocation list could not be refreshed.',
    'Retry shortly.',
  ),
  rate_limited: entry(
    'authentication',
    [429],
    'yes',
    'Too many requests for this client.',
    'Wait `Retry-After` seconds, then retry.',
  ),
  invalid_signature: entry(
    'authentication',
    [401],
    'no',
    'An acquirer notification’s signature is missing, stale or wrong.',
    'Sign it with the shared secret and a current timestamp.',
  ),

  // Idempotency keys.
  idempotency_key_required: entry(
    'idempotency',
    [400],
    'no',
    'A POST that needs an `Idempotency-Key` header came without one.',
    'Send a new key per logical operation (see docs/idempotency.md).',
  ),
  idempotency_key_invalid: entry(
    'idempotency',
    [400],
    'no',
    'The `Idempotency-Key` is empty, too long or not visible ASCII.',
    'Use a UUID.',
  ),
  idempotency_key_reused: entry(
    'idempotency',
    [409],
    'no',
    'The key was used before with another method, path or body.',
    'Use a new key for a new request; the same key only for a retry of the same request.',
  ),
  idempotency_key_in_use: entry(
    'idempotency',
    [409],
    'yes',
    'A request with this key is still being processed.',
    'Retry with the same key after `Retry-After` seconds.',
  ),

  // Payments.
  payment_not_found: entry(
    'payments',
    [404],
    'no',
    'No payment of this merchant has this id.',
    'Check the id (another merchant’s payment is not found either).',
  ),
  token_not_found: entry(
    'payments',
    [404, 422],
    'no',
    'No card or wallet token of this merchant has this id (422 on authorize, 404 on the vault’s own routes).',
    'Tokenize the card again.',
  ),
  token_method_mismatch: entry(
    'payments',
    [422],
    'no',
    'The token holds a card but the payment method says wallet, or the other way round.',
    'Send the method the token was made for.',
  ),
  already_authorized: entry('payments', [409], 'no', 'The payment is already authorized.', 'Nothing to do.'),
  already_captured: entry(
    'payments',
    [409],
    'no',
    'The payment is already captured (a payment is captured once).',
    'Refund instead of voiding.',
  ),
  payment_voided: entry('payments', [409], 'no', 'The payment was voided.', 'Start a new payment.'),
  payment_failed: entry('payments', [409], 'no', 'The authorization was declined.', 'Start a new payment.'),
  payment_expired: entry(
    'payments',
    [409],
    'no',
    'The authorization expired before it was captured.',
    'Start a new payment.',
  ),
  payment_not_captured: entry(
    'payments',
    [409],
    'no',
    'The payment is authorized but not captured, so there is nothing to refund.',
    'Void it instead.',
  ),
  payment_fully_refunded: entry(
    'payments',
    [409],
    'no',
    'Everything captured was refunded.',
    'Nothing to do.',
  ),
  payment_pending: entry(
    'payments',
    [409],
    'after_change',
    'The authorization’s outcome is not known yet (PENDING).',
    'Retry once the payment has left PENDING (a webhook says so).',
  ),
  payment_requires_action: entry(
    'payments',
    [409],
    'after_change',
    'The payer has not finished the redirect yet.',
    'Wait for the payer; retry once the payment is AUTHORIZED.',
  ),
  payment_operation_in_progress: entry(
    'payments',
    [409],
    'yes',
    'Another capture, refund or void of this payment has not been answered by the acquirer yet.',
    'Retry shortly.',
  ),
  capture_exceeds_authorized: entry(
    'payments',
    [422],
    'no',
    'The capture amount is more than was authorized.',
    'Capture at most the authorized amount.',
  ),
  refund_exceeds_captured: entry(
    'payments',
    [409],
    'no',
    'The refund is more than what is left to refund.',
    'Refund at most the captured amount less earlier refunds.',
  ),
  payment_in_review: entry(
    'payments',
    [409],
    'after_change',
    'Fraud screening holds the payment for review; it cannot be captured yet.',
    'Approve the review (`POST /v1/fraud/reviews/{id}/approve`), then capture.',
  ),
  payment_not_awaiting_resolution: entry(
    'payments',
    [409],
    'no',
    'Nothing of this payment or refund waits for an operator: no outcome stayed unknown past the whole inquiry schedule.',
    'Nothing to do; `GET /v1/admin/payments/unresolved` lists what does.',
  ),
  acquirer_outcome_unknown: entry(
    'payments',
    [503],
    'yes',
    'The acquirer did not answer the inquiry about the operation; nothing changed.',
    'Retry the resolution later.',
  ),
  payment_not_in_review: entry(
    'payments',
    [409],
    'no',
    'The payment is not waiting for a review decision.',
    'Nothing to do.',
  ),
  search_too_broad: entry(
    'payments',
    [422],
    'no',
    'Too many cards end in these four digits to search by them alone.',
    'Add a date range or another filter.',
  ),
  capture_declined: entry(
    'declines',
    [422],
    'no',
    'The acquirer declined the capture (`declineCode` says why).',
    'Read `declineCode`.',
  ),
  void_declined: entry(
    'declines',
    [422],
    'no',
    'The acquirer declined the void (`declineCode` says why).',
    'Read `declineCode`.',
  ),
  refund_declined: entry(
    'declines',
    [422],
    'no',
    'The acquirer declined the refund (`declineCode` says why).',
    'Read `declineCode`.',
  ),
  card_declined: entry(
    'declines',
    [422],
    'no',
    'The acquirer declined the authorization; also the code for any decline code not listed here (`declineCode` holds the acquirer’s).',
    'The payment is FAILED (`paymentId`); ask the payer for another card.',
  ),
  insufficient_funds: entry('declines', [422], 'no', 'Declined: not enough funds.', 'Ask for another card.'),
  lost_card: entry('declines', [422], 'no', 'Declined: the card was reported lost.', 'Ask for another card.'),
  stolen_card: entry(
    'declines',
    [422],
    'no',
    'Declined: the card was reported stolen.',
    'Ask for another card.',
  ),
  expired_card: entry(
    'declines',
    [422],
    'no',
    'Declined by the acquirer, or refused by `POST /v1/tokens`: the card has expired.',
    'Ask for another card.',
  ),
  incorrect_cvc: entry(
    'declines',
    [422],
    'no',
    'Declined: the CVC is wrong.',
    'Ask the payer to re-enter the card.',
  ),
  processing_error: entry(
    'declines',
    [422],
    'no',
    'The acquirer failed to process the authorization; the payment is FAILED.',
    'A new payment (new key) may succeed.',
  ),
  customer_declined: entry(
    'declines',
    [422],
    'no',
    'The payer declined the bank redirect.',
    'Offer another payment method.',
  ),
  authorization_voided: entry(
    'declines',
    [422],
    'no',
    'The acquirer voided the authorization before it was final.',
    'Start a new payment.',
  ),
  acquirer_rejected_request: entry(
    'declines',
    [422],
    'no',
    'The acquirer refused the request as invalid without recording anything.',
    'Start a new payment; report it if it repeats.',
  ),
  unknown_authorization: entry(
    'declines',
    [422],
    'no',
    'The acquirer does not know the authorization.',
    'Start a new payment.',
  ),
  acquirer_no_record: entry(
    'declines',
    [422],
    'no',
    'The outcome stayed unknown past the whole inquiry schedule and, asked by an operator, the acquirer had no record of the request: PayFlow closed it as failed (ADR 34).',
    'Start a new payment.',
  ),

  // The card vault (POST /v1/tokens).
  invalid_number: entry(
    'vault',
    [422],
    'no',
    'The card number fails the Luhn check or its length.',
    'Re-enter it.',
  ),
  invalid_expiry_month: entry('vault', [422], 'no', 'The expiry month is not 1 to 12.', 'Re-enter it.'),
  invalid_expiry_year: entry(
    'vault',
    [422],
    'no',
    'The expiry year is not a plausible year.',
    'Re-enter it.',
  ),
  invalid_cvc: entry('vault', [422], 'no', 'The CVC is not 3 or 4 digits.', 'Re-enter it.'),
  invalid_holder_name: entry(
    'vault',
    [422],
    'no',
    'The cardholder name is empty or too long.',
    'Re-enter it.',
  ),
  invalid_wallet_type: entry('vault', [422], 'no', 'The wallet type is not one PayFlow accepts.', 'Fix it.'),
  invalid_network_token: entry('vault', [422], 'no', 'The wallet’s network token is not valid.', 'Fix it.'),
  invalid_cryptogram: entry('vault', [422], 'no', 'The wallet cryptogram is not valid.', 'Fix it.'),
  vault_remote: entry(
    'vault',
    [404],
    'no',
    'Tokenization is served by the separate vault process (`VAULT_URL`), not this one.',
    'Send `POST /v1/tokens` to the vault.',
  ),
  vault_unavailable: entry(
    'vault',
    [503],
    'yes',
    'The separate vault process cannot be reached.',
    'Retry shortly.',
  ),

  // Fraud screening.
  fraud_blocked: entry(
    'fraud',
    [422],
    'no',
    'Fraud screening blocked the payment; nothing was sent to the acquirer (`risk.rules` names the rules).',
    'Do not retry with the same card; the payment is FAILED.',
  ),
  rule_invalid: entry(
    'fraud',
    [400],
    'no',
    'The rule does not parse or type-check (`position` and `token` say where).',
    'Fix the rule text.',
  ),
  rule_not_found: entry('fraud', [404], 'no', 'No rule of this merchant has this id.', 'Check the id.'),
  list_item_not_found: entry('fraud', [404], 'no', 'The list does not hold this value.', 'Check the value.'),
  invalid_list_value: entry(
    'fraud',
    [400],
    'no',
    'A list value is empty, too long or holds control characters.',
    'Fix the value.',
  ),
  reviews_unavailable: entry(
    'fraud',
    [503],
    'yes',
    'Reviews need the payments module, which does not run in this process.',
    'Send the request to a process that runs payments.',
  ),

  // Webhooks.
  webhook_url_invalid: entry(
    'webhooks',
    [422],
    'no',
    'The endpoint URL is not an https URL.',
    'Fix the URL.',
  ),
  webhook_url_forbidden: entry(
    'webhooks',
    [422],
    'no',
    'The endpoint URL points at a private, loopback or link-local address.',
    'Use a public address (or `WEBHOOK_ALLOW_PRIVATE=true` on a test install).',
  ),
  webhook_url_unresolvable: entry(
    'webhooks',
    [422],
    'no',
    'The endpoint’s host name does not resolve.',
    'Fix it.',
  ),
  webhook_event_type_unknown: entry(
    'webhooks',
    [422],
    'no',
    'An event type in `enabledEvents` does not exist.',
    'See docs/webhooks.md for the event types.',
  ),
  webhook_endpoint_not_found: entry(
    'webhooks',
    [404],
    'no',
    'No endpoint of this merchant has this id.',
    'Check it.',
  ),
  webhook_delivery_not_found: entry(
    'webhooks',
    [404],
    'no',
    'No delivery of this merchant has this id.',
    'Check it.',
  ),
  webhook_endpoint_disabled: entry(
    'webhooks',
    [409],
    'after_change',
    'The delivery’s endpoint is disabled, so it cannot be redelivered.',
    'Enable the endpoint first.',
  ),

  // Hosted checkout.
  checkout_session_not_found: entry('checkout', [404], 'no', 'No checkout session has this id.', 'Check it.'),
  checkout_session_completed: entry(
    'checkout',
    [409],
    'no',
    'The session has already been paid.',
    'Show the payer the success page.',
  ),
  checkout_session_expired: entry(
    'checkout',
    [410],
    'no',
    'The session has expired.',
    'Create a new session.',
  ),
  checkout_attempts_exhausted: entry(
    'checkout',
    [409],
    'no',
    'Too many payment attempts on this session.',
    'Create a new session.',
  ),
  checkout_payment_in_progress: entry(
    'checkout',
    [409],
    'yes',
    'An earlier attempt on this session has no outcome yet.',
    'Retry shortly.',
  ),
  checkout_unavailable: entry(
    'checkout',
    [503],
    'yes',
    'The checkout cannot reach payments right now; nothing was authorized.',
    'Retry shortly.',
  ),
  payment_declined: entry(
    'checkout',
    [422],
    'no',
    'The card was declined (`declineCode` says why); the session stays payable.',
    'Try another card.',
  ),
  payment_refused: entry(
    'checkout',
    [400, 401, 403, 404, 409, 410, 422, 429],
    'no',
    'Payments refused the checkout’s payment without a code of its own.',
    'Read `detail`.',
  ),
  invalid_redirect_url: entry('checkout', [400], 'no', 'A redirect URL is not an http(s) URL.', 'Fix it.'),
  invalid_expiry: entry('checkout', [400], 'no', '`expiresInSeconds` is out of range.', 'Fix it.'),
  invalid_description: entry('checkout', [400], 'no', '`description` is blank.', 'Fix it.'),

  // Merchants, clients and dashboard users.
  merchant_not_found: entry('identity', [404], 'no', 'No merchant has this id.', 'Check it.'),
  client_not_found: entry('identity', [404], 'no', 'No client has this id.', 'Check it.'),
  invalid_merchant: entry(
    'identity',
    [422],
    'no',
    'A merchant client needs a merchant id; admin and service clients take none.',
    'Fix the request.',
  ),
  invalid_merchant_name: entry('identity', [422], 'no', 'The merchant name is empty or too long.', 'Fix it.'),
  invalid_merchant_email: entry(
    'identity',
    [422],
    'no',
    'The merchant email is not an email address.',
    'Fix it.',
  ),
  invalid_role: entry('identity', [422], 'no', 'The role is not one this kind of account takes.', 'Fix it.'),
  invalid_reason: entry('identity', [422], 'no', 'The reason is too long.', 'Shorten it.'),
  invalid_email: entry('identity', [422], 'no', 'The email is not an email address.', 'Fix it.'),
  invalid_password: entry('identity', [422], 'no', 'The password is too short or too long.', 'Fix it.'),
  email_taken: entry(
    'identity',
    [409],
    'no',
    'A dashboard user with this email exists.',
    'Use another email.',
  ),
  invalid_credentials: entry(
    'identity',
    [401],
    'no',
    'Dashboard sign-in: wrong email or password.',
    'Try again.',
  ),
  account_locked: entry(
    'identity',
    [429],
    'yes',
    'Dashboard sign-in: too many failures; the account is locked for a while.',
    'Wait `retryAfterSeconds`.',
  ),
  session_expired: entry(
    'identity',
    [401],
    'after_change',
    'The dashboard session has ended.',
    'Sign in again.',
  ),
  csrf_token_invalid: entry(
    'identity',
    [403],
    'no',
    'A dashboard change came without its session’s `X-CSRF-Token`.',
    'Send the header.',
  ),

  // Settlement and reconciliation (operators).
  settlement_not_found: entry('settlement', [404], 'no', 'No settlement batch has this id.', 'Check it.'),
  payout_not_found: entry('settlement', [404], 'no', 'No payout has this id.', 'Check it.'),
  exception_not_found: entry(
    'settlement',
    [404],
    'no',
    'No reconciliation exception has this id.',
    'Check it.',
  ),
  exception_not_open: entry(
    'settlement',
    [409],
    'no',
    'The exception is already resolved.',
    'Nothing to do (`exceptionStatus` says how it ended).',
  ),
  adjustment_not_applicable: entry(
    'settlement',
    [422],
    'no',
    'This kind of adjustment does not fit this exception.',
    'Resolve it with another kind or with a reason only.',
  ),
  invalid_date: entry('settlement', [422], 'no', 'The date is not a valid past or current day.', 'Fix it.'),
  job_running: entry(
    'settlement',
    [409],
    'yes',
    'The same settlement run is going on in another process.',
    'Retry once it has finished.',
  ),
  invalid_report: entry(
    'settlement',
    [422],
    'no',
    'The acquirer report cannot be read (`line` says where).',
    'Fix the report.',
  ),
  too_many_malformed_rows: entry(
    'settlement',
    [422],
    'no',
    'The report has more malformed rows than allowed (`line` names the one past the limit); nothing was recorded.',
    'Fix the report.',
  ),
  report_too_large: entry('settlement', [413], 'no', 'The report is larger than allowed.', 'Split it.'),
  no_acquirer: entry(
    'settlement',
    [409],
    'no',
    'No acquirer URL is configured to fetch a report from.',
    'Set it.',
  ),
  acquirer_report_unavailable: entry(
    'settlement',
    [502],
    'yes',
    'The acquirer did not answer the report request with a report.',
    'Retry later.',
  ),

  // The platform.
  not_ready: entry(
    'platform',
    [503],
    'yes',
    '`/readyz`: the database does not answer or migrations are not applied.',
    'Wait.',
  ),
  database_unavailable: entry(
    'platform',
    [503],
    'yes',
    'The database is unavailable; nothing was half-written.',
    'Retry shortly (same Idempotency-Key).',
  ),
  web_app_not_built: entry(
    'platform',
    [503],
    'no',
    'The web app (dashboard, checkout page) was not built.',
    'Run `npm run build:web` and restart.',
  ),
  asset_not_found: entry('platform', [404], 'no', 'No web app file has this name.', 'Reload the page.'),
  dead_letter_not_found: entry(
    'platform',
    [404],
    'no',
    'No dead-lettered event waiting for replay has this id (it may have been replayed already).',
    'List the dead letters again.',
  ),
  internal_error: entry(
    'platform',
    [500],
    'yes',
    'An unexpected failure; the detail names only the request id.',
    'Retry with the same Idempotency-Key; report the `requestId` if it repeats.',
  ),
} as const satisfies Record<string, ErrorEntry>;

export type ErrorCode = keyof typeof errorCatalogue;
/** The statuses a code is answered with. */
export type StatusOf<Code extends ErrorCode> = (typeof errorCatalogue)[Code]['status'][number];
export type AcquirerDeclineCode = (typeof acquirerDeclineCodes)[number];

export const errorCodes = Object.keys(errorCatalogue) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(errorCatalogue, value);
}

/** The code an acquirer's decline is answered with: its own when listed, else `card_declined`. */
export function declineProblemCode(declineCode: string | null | undefined): AcquirerDeclineCode {
  return (acquirerDeclineCodes as readonly string[]).includes(declineCode ?? '')
    ? (declineCode as AcquirerDeclineCode)
    : 'card_declined';
}
