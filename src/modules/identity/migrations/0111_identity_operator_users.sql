-- Operators in the dashboard (ADR 32): a dashboard user with the role `operator` belongs to no
-- merchant; its session acts as an admin principal with the operator scopes, so the /v1/admin routes
-- (not the page) decide what it may do. Merchants can be disabled by an operator.
alter table identity.dashboard_users
  alter column merchant_id drop not null,
  drop constraint dashboard_users_role_check,
  add constraint dashboard_users_role_check check (role in ('owner', 'developer', 'analyst', 'operator')),
  add constraint dashboard_users_operator_has_no_merchant check ((role = 'operator') = (merchant_id is null));

alter table identity.merchants
  add column disabled_at timestamptz,
  add column disabled_reason text check (disabled_reason is null or length(disabled_reason) <= 500);

-- The new operator scope (replaying dead-lettered events) for the admin clients made before it.
update identity.clients set scopes = array_append(scopes, 'admin:events')
where role = 'admin' and not ('admin:events' = any (scopes)) and cardinality(scopes) < 50;
