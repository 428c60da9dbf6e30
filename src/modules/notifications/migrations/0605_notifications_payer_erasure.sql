-- Erasing a payer's data (docs/personal-data.md): a receipt's recipient is replaced by '[erased]'
-- and the row keeps when and why; a receipt not yet sent is failed instead of sent.
alter table notifications.messages add column erased_at timestamptz;
alter table notifications.messages drop constraint messages_check;
alter table notifications.messages add constraint messages_recipient_check check (
  (erased_at is not null and recipient = '[erased]')
  or (erased_at is null and (
    (channel = 'email' and length(recipient) between 3 and 254
      and recipient ~ '^[^[:space:]@]+@[^[:space:]@]+\.[^[:space:]@]+$')
    or (channel = 'sms' and recipient ~ '^\+[1-9][0-9]{7,14}$'))));
