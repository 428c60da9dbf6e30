-- The W3C trace context of the span that staged an event (ADR 23), carried with it from the outbox
-- to the log and the broker message, so the consumer's and the webhook's spans join the request's
-- trace. Null when tracing is off or nothing was traced.
alter table events.outbox
  add column traceparent text check (traceparent ~ '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$');
alter table events.log
  add column traceparent text check (traceparent ~ '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$');
