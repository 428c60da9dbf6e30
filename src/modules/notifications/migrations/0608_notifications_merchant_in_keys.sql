-- Merchant id in every notifications key (ADR 35). The merchant goes last, so the lookups by id, by
-- endpoint and event, and by (kind, channel, source) use the same one index as before. Webhook
-- attempts get their delivery's merchant (filled on insert, backfilled here), and the foreign keys
-- carry it: a delivery belongs to its endpoint's merchant, an attempt to its delivery's.
alter table notifications.webhook_attempts add column merchant_id text;
update notifications.webhook_attempts attempt set merchant_id = delivery.merchant_id
from notifications.webhook_deliveries delivery where delivery.id = attempt.delivery_id;
alter table notifications.webhook_attempts
  alter column merchant_id set not null,
  drop constraint webhook_attempts_delivery_id_fkey,
  drop constraint webhook_attempts_pkey;

alter table notifications.webhook_deliveries
  drop constraint webhook_deliveries_endpoint_id_fkey,
  drop constraint webhook_deliveries_pkey,
  drop constraint webhook_deliveries_endpoint_id_event_id_key;

alter table notifications.webhook_endpoints drop constraint webhook_endpoints_pkey;
alter table notifications.webhook_endpoints add constraint webhook_endpoints_pkey primary key (id, merchant_id);

alter table notifications.webhook_deliveries
  add constraint webhook_deliveries_pkey primary key (id, merchant_id),
  add constraint webhook_deliveries_endpoint_id_event_id_key unique (endpoint_id, event_id, merchant_id),
  add constraint webhook_deliveries_endpoint foreign key (endpoint_id, merchant_id)
    references notifications.webhook_endpoints (id, merchant_id);

alter table notifications.webhook_attempts
  add constraint webhook_attempts_pkey primary key (delivery_id, attempt_number, merchant_id),
  add constraint webhook_attempts_delivery foreign key (delivery_id, merchant_id)
    references notifications.webhook_deliveries (id, merchant_id);

alter table notifications.notices drop constraint notices_pkey;
alter table notifications.notices add constraint notices_pkey primary key (id, merchant_id);

alter table notifications.messages
  drop constraint messages_pkey,
  drop constraint messages_kind_channel_source_id_key;
alter table notifications.messages
  add constraint messages_pkey primary key (id, merchant_id),
  add constraint messages_kind_channel_source_id_key unique (kind, channel, source_id, merchant_id);
