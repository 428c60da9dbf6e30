-- A merchant's contact email: where PayFlow sends notices meant for the merchant (a webhook endpoint
-- disabled after its last failed retry). Optional; without it those notices are only stored.
alter table identity.merchants
  add column email text check (email is null or (length(email) between 3 and 254 and email ~ '^[^[:space:]@]+@[^[:space:]@]+\.[^[:space:]@]+$'));
