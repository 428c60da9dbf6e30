-- Where the payer's receipt goes once the payment is captured: an email address and/or an E.164
-- phone number the merchant passes on POST /payments/authorize. Both optional.
alter table payments.payments
  add column receipt_email text
    check (receipt_email is null or (length(receipt_email) between 3 and 254 and receipt_email ~ '^[^[:space:]@]+@[^[:space:]@]+\.[^[:space:]@]+$')),
  add column receipt_phone text check (receipt_phone is null or receipt_phone ~ '^\+[1-9][0-9]{7,14}$');
