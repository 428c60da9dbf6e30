-- The payer's IP address of the attempt in flight, sent to the payments API for fraud screening
-- (velocity per IP, IP country against the card's). Kept with the attempt so that an attempt sent
-- again carries the same request body, and cleared with it.
alter table checkout.sessions
  add column attempt_payer_ip text check (attempt_payer_ip is null or attempt_payer_ip ~ '^[0-9A-Fa-f:.]{2,45}$'),
  add check (attempt_key is not null or attempt_payer_ip is null);
