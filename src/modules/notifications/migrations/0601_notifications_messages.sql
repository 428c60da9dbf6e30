-- Outgoing email and SMS. A message is queued in the same transaction as what causes it (a captured
-- payment handled by the `receipts` consumer group, an endpoint disabled by the webhook sender), then
-- the `messages-sender` job sends it with retries. Without a transport for its channel (SMTP_URL,
-- SMS_PROVIDER_URL unset) it is `stored`: kept here and logged masked, never sent.
create table notifications.messages (
  id text primary key check (id ~ '^ntf_[0-9a-hjkmnp-tv-z]{26}$'),
  channel text not null check (channel in ('email', 'sms')),
  merchant_id text not null check (merchant_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  kind text not null check (kind in ('payment_receipt', 'endpoint_disabled')),
  -- What the message is about (a payment id, a notice id): one message per kind, channel and source.
  source_id text not null check (length(source_id) between 1 and 255),
  recipient text not null check (
    (channel = 'email' and length(recipient) between 3 and 254 and recipient ~ '^[^[:space:]@]+@[^[:space:]@]+\.[^[:space:]@]+$')
    or (channel = 'sms' and recipient ~ '^\+[1-9][0-9]{7,14}$')),
  subject text check (subject is null or length(subject) between 1 and 200),
  body text not null check (length(body) between 1 and 10000),
  status text not null check (status in ('queued', 'sent', 'failed', 'stored')),
  attempt_count integer not null default 0 check (attempt_count >= 0),
  next_attempt_at timestamptz,
  last_error text check (last_error is null or length(last_error) <= 1000),
  created_at timestamptz not null,
  updated_at timestamptz not null,
  sent_at timestamptz,
  unique (kind, channel, source_id),
  check ((channel = 'email') = (subject is not null)),
  check ((status = 'queued') = (next_attempt_at is not null)),
  check ((status = 'sent') = (sent_at is not null)),
  check (status <> 'failed' or last_error is not null)
);
create index messages_due on notifications.messages (next_attempt_at) where status = 'queued';
create index messages_merchant on notifications.messages (merchant_id, created_at);
