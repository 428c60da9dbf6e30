-- A payment's webhook deliveries (the dashboard's payment page, GET /webhooks/deliveries?paymentId=):
-- each delivery keeps the payment its event is about (payload.paymentId; null for events about no
-- payment, e.g. settlements), filled in for the deliveries already there, with an index per merchant.
alter table notifications.webhook_deliveries add column payment_id text;
update notifications.webhook_deliveries
  set payment_id = body::jsonb -> 'payload' ->> 'paymentId'
  where body::jsonb -> 'payload' ->> 'paymentId' is not null;
create index webhook_deliveries_payment on notifications.webhook_deliveries (merchant_id, payment_id, created_at)
  where payment_id is not null;
