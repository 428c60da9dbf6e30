// Standard Webhooks 1.0 signing and verification (pure). The sender signs `{id}.{timestamp}.{body}`
// with HMAC-SHA256 under each active secret and sends `v1,<base64>` signatures separated by spaces;
// a receiver accepts the message when any listed v1 signature matches its secret, compared in
// constant time, and the timestamp is within the tolerance of its own clock.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const secretPrefix = 'whsec_';

export type WebhookVerificationErrorCode =
  'missing_headers' | 'timestamp_too_old' | 'timestamp_in_future' | 'invalid_signature';

/** Why a webhook was refused; `code` is stable. */
export class WebhookVerificationError extends Error {
  constructor(
    readonly code: WebhookVerificationErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

/** A new signing secret: `whsec_` + base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  return `${secretPrefix}${randomBytes(32).toString('base64')}`;
}

function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(secretPrefix) ? secret.slice(secretPrefix.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0) throw new Error('webhook secret is empty');
  return key;
}

function sign(key: Buffer, id: string, timestamp: number, body: string): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
}

/** The `webhook-signature` header value: one `v1,<base64>` per secret, separated by spaces. */
export function signWebhook(message: {
  readonly id: string;
  /** Unix seconds. */
  readonly timestamp: number;
  readonly body: string;
  readonly secrets: readonly string[];
}): string {
  if (message.secrets.length === 0) throw new Error('signWebhook needs at least one secret');
  return message.secrets
    .map(
      (secret) =>
        `v1,${sign(secretKey(secret), message.id, message.timestamp, message.body).toString('base64')}`,
    )
    .join(' ');
}

type HeaderBag = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

function header(headers: HeaderBag, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const bag = headers as Readonly<Record<string, string | readonly string[] | undefined>>;
  const key = Object.keys(bag).find((candidate) => candidate.toLowerCase() === name);
  const value = key === undefined ? undefined : bag[key];
  return Array.isArray(value) ? (value[0] as string | undefined) : (value as string | undefined);
}

/**
 * Verifies a received webhook over its RAW body (the exact bytes received, not re-serialized JSON).
 * Returns normally when valid; throws WebhookVerificationError otherwise.
 */
export function verifyWebhook(input: {
  /** Request headers (a plain object such as Node's/Fastify's/Express's, or a fetch Headers). */
  readonly headers: HeaderBag;
  readonly rawBody: string | Buffer;
  readonly secret: string;
  /** The receiver's clock (default: now). */
  readonly now?: Date;
  readonly toleranceSeconds?: number;
}): void {
  const id = header(input.headers, 'webhook-id');
  const timestampText = header(input.headers, 'webhook-timestamp');
  const signatures = header(input.headers, 'webhook-signature');
  if (!id || !timestampText || !signatures) {
    throw new WebhookVerificationError(
      'missing_headers',
      'webhook-id, webhook-timestamp and webhook-signature are required',
    );
  }
  if (!/^\d{1,12}$/.test(timestampText.trim())) {
    throw new WebhookVerificationError('invalid_signature', 'webhook-timestamp is not unix seconds');
  }
  const timestamp = Number(timestampText.trim());
  const nowSeconds = Math.floor((input.now ?? new Date()).getTime() / 1000);
  const tolerance = input.toleranceSeconds ?? 300;
  if (timestamp < nowSeconds - tolerance) {
    throw new WebhookVerificationError('timestamp_too_old', 'webhook-timestamp is too old');
  }
  if (timestamp > nowSeconds + tolerance) {
    throw new WebhookVerificationError('timestamp_in_future', 'webhook-timestamp is in the future');
  }
  const body = typeof input.rawBody === 'string' ? input.rawBody : input.rawBody.toString('utf8');
  const expected = sign(secretKey(input.secret), id, timestamp, body);
  for (const item of signatures.split(' ')) {
    const [version, encoded] = item.split(',', 2);
    if (version !== 'v1' || encoded === undefined) continue;
    const received = Buffer.from(encoded, 'base64');
    if (received.length === expected.length && timingSafeEqual(received, expected)) return;
  }
  throw new WebhookVerificationError('invalid_signature', 'no webhook-signature matches');
}
