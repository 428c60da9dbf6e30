-- A merchant may disable a webhook endpoint itself (POST /webhooks/endpoints/{id}/disable, the
-- dashboard's Developers page): its idempotency keys name the new operation.
alter table notifications.idempotency_keys drop constraint idempotency_keys_operation_check;
alter table notifications.idempotency_keys add constraint idempotency_keys_operation_check
  check (operation in ('create_endpoint', 'rotate_secret', 'enable_endpoint', 'disable_endpoint',
    'delete_endpoint', 'retry_delivery'));
