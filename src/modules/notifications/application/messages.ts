// Email and SMS. Queueing happens inside the caller's transaction (the `receipts` consumer group's, or
// the webhook sender's when it disables an endpoint), so a message exists exactly when its cause
// committed, and once: (kind, channel, source) is unique. The `messages-sender` job then sends due
// messages outside any transaction, one SMTP/HTTP call each, and records the outcome with a retry
// schedule; a channel without a transport stores the message and logs it with the address masked.
import type { Queryable, Sql, TransactionSql } from '../../../platform/db/client.ts';
import {
  isEmailAddress,
  isPhoneNumber,
  maskEmailAddress,
  maskPhoneNumber,
} from '../../../platform/contact.ts';
import { newId } from '../../../platform/ids.ts';
import type { Logger } from '../../../platform/log.ts';
import type { EventEnvelope } from '../../events/index.ts';
import type { MerchantContact } from '../../identity/index.ts';
import {
  capturedPaymentOf,
  renderEndpointDisabledEmail,
  renderReceiptEmail,
  renderReceiptSms,
  type EndpointDisabledFacts,
  type MessageChannel,
  type NewMessage,
} from '../domain/messages.ts';
import { retryDelayAfter } from '../domain/retry-schedule.ts';
import {
  claimDueMessages,
  eraseReceiptRecipients as eraseRecipients,
  insertMessage,
  markFailed,
  markSent,
  markStored,
  scheduleRetry,
  type QueuedMessage,
} from '../infra/message-repository.ts';
import type { MessageTransport, SendOutcome } from '../infra/message-transports.ts';

/** Delays before each retry of a message (plus up to 10 % jitter): six attempts over about 70 minutes. */
export const messageRetryDelaysMs: readonly number[] = [1_000, 10_000, 60_000, 600_000, 3_600_000];
/** Deadline of one SMTP conversation or SMS API call. */
export const messageSendTimeoutMs = 10_000;
export const messagePollIntervalMs = 500;
export const messageBatchMax = 20;

/** Reads a payment's receipt contact from the payments module, inside the caller's transaction. */
export type ReceiptContactReader = (
  merchantId: string,
  paymentId: string,
  sql: Queryable,
) => Promise<{ email: string | null; phone: string | null } | undefined>;

/** Reads a merchant's name and contact email, inside the caller's transaction. */
export type MerchantContactReader = (
  merchantId: string,
  sql: Queryable,
) => Promise<MerchantContact | undefined>;

/** Queues a message in the caller's transaction; false when it was queued before. */
export function queueMessage(sql: Queryable, message: NewMessage, now: Date): Promise<boolean> {
  return insertMessage(sql, newId('ntf', now.getTime()), message, now);
}

/**
 * The `receipts` consumer-group handler: a captured payment with a receipt email (and/or phone)
 * queues the payer's receipt. Addresses that are not addresses are skipped (the API validated them).
 */
export async function queueReceipts(
  transaction: TransactionSql,
  event: EventEnvelope,
  merchantId: string,
  contactOf: MerchantContactReader | undefined,
  now: Date,
  receiptContactOf?: ReceiptContactReader,
): Promise<void> {
  const captured = capturedPaymentOf(event.payload);
  let emailAddress = captured.legacyEmail;
  let phoneNumber = captured.legacyPhone;
  if (captured.receipt.email || captured.receipt.sms) {
    // The event says which receipts; the payments module holds the addresses (personal data).
    const contact = await receiptContactOf?.(merchantId, captured.paymentId, transaction);
    if (captured.receipt.email) emailAddress = contact?.email ?? undefined;
    if (captured.receipt.sms) phoneNumber = contact?.phone ?? undefined;
  }
  const email = emailAddress !== undefined && isEmailAddress(emailAddress);
  const phone = phoneNumber !== undefined && isPhoneNumber(phoneNumber);
  if (!email && !phone) return;
  const merchant = await contactOf?.(merchantId, transaction);
  const facts = {
    paymentId: captured.paymentId,
    amount: captured.capturedAmount,
    currency: captured.currency,
    merchantName: merchant?.name,
    capturedAt: new Date(event.occurredAt),
  };
  const base = { kind: 'payment_receipt', merchantId, sourceId: captured.paymentId } as const;
  if (email) {
    const { subject, body } = renderReceiptEmail(facts);
    const recipient = emailAddress!;
    await queueMessage(transaction, { ...base, channel: 'email', recipient, subject, body }, now);
  }
  if (phone) {
    const recipient = phoneNumber!;
    const body = renderReceiptSms(facts);
    await queueMessage(transaction, { ...base, channel: 'sms', recipient, subject: null, body }, now);
  }
}

/**
 * The `receipts` group's answer to `payment.payer_data_erased.v1`: the payment's receipts lose their
 * recipient ('[erased]'); one not sent yet is failed, so it is never sent.
 */
export async function eraseReceiptRecipients(
  transaction: TransactionSql,
  merchantId: string,
  paymentId: string,
  now: Date,
): Promise<void> {
  await eraseRecipients(transaction, merchantId, paymentId, now);
}

/**
 * In the transaction that disabled the endpoint: email the merchant, if it has a contact email.
 * Returns whether an email was queued.
 */
export async function queueEndpointDisabledEmail(
  transaction: TransactionSql,
  contactOf: MerchantContactReader | undefined,
  notice: Omit<EndpointDisabledFacts, 'merchantName'> & { noticeId: string; merchantId: string },
  now: Date,
): Promise<boolean> {
  const merchant = await contactOf?.(notice.merchantId, transaction);
  if (merchant?.email === undefined) return false;
  const { subject, body } = renderEndpointDisabledEmail({ ...notice, merchantName: merchant.name });
  return queueMessage(
    transaction,
    {
      channel: 'email',
      kind: 'endpoint_disabled',
      merchantId: notice.merchantId,
      sourceId: notice.noticeId,
      recipient: merchant.email,
      subject,
      body,
    },
    now,
  );
}

export interface MessageSettings {
  readonly sql: Sql;
  readonly log: Logger;
  readonly now: () => Date;
  /** A channel without a transport stores its messages (SMTP_URL / SMS_PROVIDER_URL unset). */
  readonly transports: Readonly<Partial<Record<MessageChannel, MessageTransport>>>;
  readonly retryDelaysMs?: readonly number[];
  readonly random?: () => number;
}

export function maskedRecipient(message: Pick<QueuedMessage, 'channel' | 'recipient'>): string {
  return message.channel === 'email'
    ? maskEmailAddress(message.recipient)
    : maskPhoneNumber(message.recipient);
}

/** A server's error may quote the address (`550 <jane@example.com> unknown`): logs show it masked. */
function maskedError(message: Pick<QueuedMessage, 'channel' | 'recipient'>, error: string): string {
  return error.split(message.recipient).join(maskedRecipient(message));
}

const unsetVariable: Record<MessageChannel, string> = { email: 'SMTP_URL', sms: 'SMS_PROVIDER_URL' };

/** Sends every due message (in batches); returns how many were handled. */
export async function sendDueMessages(settings: MessageSettings, signal: AbortSignal): Promise<number> {
  let handled = 0;
  while (!signal.aborted) {
    const now = settings.now();
    const lease = new Date(now.getTime() + messageSendTimeoutMs + 60_000);
    const due = await claimDueMessages(settings.sql, now, lease, messageBatchMax);
    if (due.length === 0) break;
    await Promise.all(due.map((message) => sendOne(settings, message)));
    handled += due.length;
  }
  return handled;
}

async function sendOne(settings: MessageSettings, message: QueuedMessage): Promise<void> {
  const logged = {
    messageId: message.id,
    channel: message.channel,
    kind: message.kind,
    merchantId: message.merchantId,
    recipient: maskedRecipient(message),
  };
  const transport = settings.transports[message.channel];
  if (transport === undefined) {
    await markStored(settings.sql, message.id, settings.now());
    settings.log.info(
      { ...logged, subject: message.subject, body: message.body },
      `${message.channel} not sent (${unsetVariable[message.channel]} is unset): message stored`,
    );
    return;
  }
  const outcome: SendOutcome = await transport.send({
    recipient: message.recipient,
    subject: message.subject,
    body: message.body,
  });
  await recordOutcome(settings, message, outcome, logged);
}

async function recordOutcome(
  settings: MessageSettings,
  message: QueuedMessage,
  outcome: SendOutcome,
  logged: Record<string, unknown>,
): Promise<void> {
  const attempts = message.attemptCount + 1;
  const now = settings.now();
  if (outcome.type === 'sent') {
    await markSent(settings.sql, message.id, attempts, now);
    settings.log.info({ ...logged, attempts }, `${message.channel} sent`);
    return;
  }
  const schedule = settings.retryDelaysMs ?? messageRetryDelaysMs;
  const delay =
    outcome.type === 'retry'
      ? retryDelayAfter(schedule, attempts, (settings.random ?? Math.random)())
      : undefined;
  if (delay === undefined) {
    await markFailed(settings.sql, message.id, attempts, outcome.error, now);
    settings.log.warn(
      { ...logged, attempts, error: maskedError(message, outcome.error) },
      `${message.channel} failed for good`,
    );
    return;
  }
  await scheduleRetry(
    settings.sql,
    message.id,
    attempts,
    outcome.error,
    new Date(now.getTime() + delay),
    now,
  );
  settings.log.info(
    { ...logged, attempts, error: maskedError(message, outcome.error), retryInMs: delay },
    `${message.channel} will be retried`,
  );
}
