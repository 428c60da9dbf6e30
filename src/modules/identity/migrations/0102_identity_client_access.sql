-- Disabling a client and revoking the tokens it holds. Tokens are self-contained JWTs, so each carries
-- its client's token generation (claim `generation`); disabling, re-enabling or rotating the secret
-- bumps the generation, and every process refuses tokens of an older generation (it caches the
-- generations above 1 and rereads them when client_access_changes grows; see ADR 15).
alter table identity.clients
  add column token_generation integer not null default 1 check (token_generation >= 1),
  add column disabled_reason text check (disabled_reason is null or length(disabled_reason) <= 500),
  add check (disabled_at is not null or disabled_reason is null);

-- What every verifying process loads: only clients whose early tokens are revoked.
create index clients_revoked_generation_idx on identity.clients (client_id, token_generation)
  where token_generation > 1;

-- Who disabled, enabled or rotated a client's secret, when and why. Append-only; writers hold a
-- self-conflicting lock on this table while they change a client, so change ids become visible in
-- order and a process that has read max(change_id) has seen every change up to it.
create table identity.client_access_changes (
  change_id bigint generated always as identity primary key,
  client_id text not null references identity.clients (client_id),
  action text not null check (action in ('disabled', 'enabled', 'secret_rotated')),
  actor text not null check (length(btrim(actor)) between 1 and 200),
  reason text check (reason is null or length(reason) <= 500),
  -- The client's token generation after the change: tokens of lower generations are refused.
  token_generation integer not null check (token_generation >= 2),
  occurred_at timestamptz not null default now()
);

create index client_access_changes_client_idx on identity.client_access_changes (client_id, change_id);
