-- Where a bank page sends the payer back: its own column, not the merchant's metadata.
alter table payments.payments
  add column return_url text check (return_url is null or (length(return_url) <= 2048 and return_url ~ '^https?://'));
