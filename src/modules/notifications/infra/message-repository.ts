// SQL of notifications.messages: queue (once per kind, channel and source), claim due messages under a
// lease, record each outcome, and erase a payer's address. Rows are snake_case here only; callers get
// a QueuedMessage.
import type { Queryable } from '../../../platform/db/client.ts';
import type { MessageChannel, MessageKind, NewMessage } from '../domain/messages.ts';

export type MessageStatus = 'queued' | 'sent' | 'failed' | 'stored';

interface MessageRow {
  id: string;
  channel: MessageChannel;
  merchant_id: string;
  kind: MessageKind;
  source_id: string;
  recipient: string;
  subject: string | null;
  body: string;
  status: MessageStatus;
  attempt_count: number;
  next_attempt_at: Date | null;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
  sent_at: Date | null;
}

/** A message claimed for sending. */
export interface QueuedMessage extends NewMessage {
  readonly id: string;
  readonly status: MessageStatus;
  readonly attemptCount: number;
}

function queuedMessageOf(row: MessageRow): QueuedMessage {
  return {
    id: row.id,
    channel: row.channel,
    kind: row.kind,
    merchantId: row.merchant_id,
    sourceId: row.source_id,
    recipient: row.recipient,
    subject: row.subject,
    body: row.body,
    status: row.status,
    attemptCount: row.attempt_count,
  };
}

/** Queues the message, due now; false when one for the same (kind, channel, source) exists. */
export async function insertMessage(
  sql: Queryable,
  id: string,
  message: NewMessage,
  now: Date,
): Promise<boolean> {
  const inserted = await sql`
    insert into notifications.messages
      (id, channel, merchant_id, kind, source_id, recipient, subject, body, status, next_attempt_at,
       created_at, updated_at)
    values (${id}, ${message.channel}, ${message.merchantId}, ${message.kind}, ${message.sourceId},
            ${message.recipient}, ${message.subject}, ${message.body}, 'queued', ${now}, ${now}, ${now})
    on conflict (kind, channel, source_id, merchant_id) do nothing`;
  return inserted.count === 1;
}

/**
 * Claims up to `limit` due messages by pushing their next attempt past the lease, so no other sender
 * takes them meanwhile; a sender that dies leaves them due again when the lease ends.
 */
export async function claimDueMessages(
  sql: Queryable,
  now: Date,
  leaseUntil: Date,
  limit: number,
): Promise<QueuedMessage[]> {
  const rows = await sql<MessageRow[]>`
    with due as (
      select id from notifications.messages
      where status = 'queued' and next_attempt_at <= ${now}
      order by next_attempt_at
      limit ${limit}
      for update skip locked
    )
    update notifications.messages message set next_attempt_at = ${leaseUntil}
    from due where message.id = due.id
    returning message.*`;
  return rows.map(queuedMessageOf);
}

export async function markSent(sql: Queryable, id: string, attemptCount: number, now: Date): Promise<void> {
  await sql`
    update notifications.messages
    set status = 'sent', attempt_count = ${attemptCount}, next_attempt_at = null, last_error = null,
        sent_at = ${now}, updated_at = ${now}
    where id = ${id}`;
}

/** No transport for its channel: kept as it is, never sent. */
export async function markStored(sql: Queryable, id: string, now: Date): Promise<void> {
  await sql`
    update notifications.messages set status = 'stored', next_attempt_at = null, updated_at = ${now}
    where id = ${id}`;
}

export async function markFailed(
  sql: Queryable,
  id: string,
  attemptCount: number,
  error: string,
  now: Date,
): Promise<void> {
  await sql`
    update notifications.messages
    set status = 'failed', attempt_count = ${attemptCount}, next_attempt_at = null, last_error = ${error},
        updated_at = ${now}
    where id = ${id}`;
}

export async function scheduleRetry(
  sql: Queryable,
  id: string,
  attemptCount: number,
  error: string,
  nextAttemptAt: Date,
  now: Date,
): Promise<void> {
  await sql`
    update notifications.messages
    set attempt_count = ${attemptCount}, next_attempt_at = ${nextAttemptAt}, last_error = ${error},
        updated_at = ${now}
    where id = ${id}`;
}

/**
 * The payment's receipts lose their recipient ('[erased]'); one not sent yet is failed, so it is
 * never sent.
 */
export async function eraseReceiptRecipients(
  sql: Queryable,
  merchantId: string,
  paymentId: string,
  now: Date,
): Promise<void> {
  await sql`
    update notifications.messages set
      recipient = '[erased]',
      erased_at = ${now},
      status = case when status = 'queued' then 'failed' else status end,
      last_error = case when status = 'queued' then 'payer data erased before sending' else last_error end,
      next_attempt_at = null,
      updated_at = ${now}
    where merchant_id = ${merchantId} and source_id = ${paymentId} and kind = 'payment_receipt'
      and erased_at is null`;
}
