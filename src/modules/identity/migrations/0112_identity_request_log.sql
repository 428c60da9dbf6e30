-- Recent API requests per merchant for the Developers page (ADR 32): method, path (no query
-- string), status, duration, request id and who called. Never a body, a query string or a header.
-- Written in batches off the request path and trimmed to the newest rows of each merchant.
create table identity.request_log (
  id bigint generated always as identity primary key,
  merchant_id text not null,
  client_id text not null check (length(client_id) <= 100),
  method text not null check (method ~ '^[A-Z]{1,10}$'),
  path text not null check (length(path) between 1 and 300),
  status integer not null check (status between 100 and 599),
  duration_ms integer not null check (duration_ms >= 0),
  request_id text not null check (length(request_id) <= 200),
  at timestamptz not null
);

create index request_log_merchant_idx on identity.request_log (merchant_id, id desc);
