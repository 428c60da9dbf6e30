-- Merchant id in checkout's keys (ADR 35). The merchant goes last: the hosted page finds a session by
-- its id alone, and the same one index still serves that.
alter table checkout.sessions
  drop constraint sessions_pkey,
  drop constraint sessions_payment_id_key;
alter table checkout.sessions
  add constraint sessions_pkey primary key (id, merchant_id),
  add constraint sessions_payment_id_key unique (payment_id, merchant_id);

alter table checkout.merchant_clients drop constraint merchant_clients_client_id_key;
alter table checkout.merchant_clients add constraint merchant_clients_client_id_key unique (client_id, merchant_id);
