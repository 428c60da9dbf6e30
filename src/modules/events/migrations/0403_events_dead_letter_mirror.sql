-- With a broker transport (NATS, Kafka) each dead letter is also published to the broker's
-- dead-letter subject/topic (`<prefix>.payment.events.dlq`) for the operators' own tooling. The row
-- here stays the record `payflow events dlq` works on; `mirrored_at` says the broker has its copy.
alter table events.dead_letters add column mirrored_at timestamptz;

create index dead_letters_unmirrored on events.dead_letters (dead_at, id) where mirrored_at is null;
