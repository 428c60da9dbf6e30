// SQL of notifications.messages: queue (once per kind, channel and source), claim due messages under a
// lease, and record each outcome.
import type { Queryable } from '../../../platform/db/client.ts';
import type { MessageChannel, MessageKind, NewMessage } from '../domain/messages.ts';

export type MessageStatus = 'queued' | 'sent' | 'failed' | 'stored';

export interface MessageRow {
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
    on conflict (kind, channel, source_id) do nothing`;
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
): Promise<MessageRow[]> {
  return sql<MessageRow[]>`
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
