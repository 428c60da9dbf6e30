-- The PostgreSQL velocity store (REDIS_URL unset, as `npm start` runs) in one round trip (issue 12):
-- what the store did as a transaction of ten statements (advisory locks, inserts, trims, the counts,
-- the first-seen check) runs here as one function call, one statement, one implicit transaction.
-- The answers are the Redis script's (velocity-store.ts); both stores are tested against each other.
--
-- attempts: the attempt counters present (card, email, ip; member = the payment id, with its amount);
-- distinct_counters: distinct cards per ip / email (member = the card fingerprint, refreshed);
-- outcome_counters: declines and refunds per card (only read here; the consumer writes them);
-- seen_counter: the card's first-seen marker (null without a card).
-- Returns one row per counter of the three lists (counts and sums in the 1 min, 1 h, 24 h windows),
-- and for seen_counter one row whose c1 is 1 when this payment is the card's first with the merchant.
create function fraud.record_attempt(
  p_attempts text[],
  p_distinct text[],
  p_outcomes text[],
  p_seen text,
  p_payment_id text,
  p_fingerprint text,
  p_amount bigint,
  p_at timestamptz,
  p_since_1m timestamptz,
  p_since_1h timestamptz,
  p_since_24h timestamptz,
  p_cap integer
) returns table (o_counter text, c1 integer, c2 integer, c3 integer, s1 text, s2 text, s3 text)
language plpgsql as $$
declare
  name text;
  everything text[] := p_attempts || p_distinct || p_outcomes;
  first_member text;
begin
  -- Attempts on one card, email or IP are counted one after the other (1..n, never twice the same
  -- number); locks are always taken in the same order, so two screenings cannot deadlock.
  for name in select x from unnest(p_attempts) x order by x collate "C" loop
    perform pg_advisory_xact_lock(hashtext(name));
  end loop;
  insert into fraud.velocity (counter, member, amount, at)
    select x, p_payment_id, p_amount, p_at from unnest(p_attempts) x
    on conflict (counter, member) do nothing;
  if p_fingerprint is not null then
    insert into fraud.velocity (counter, member, amount, at)
      select x, p_fingerprint, 0, p_at from unnest(p_distinct) x
      on conflict (counter, member) do update set at = excluded.at;
  end if;
  delete from fraud.velocity v where v.counter = any(everything) and v.at < p_since_24h;
  -- At most p_cap entries per counter (the newest), as the Redis script keeps.
  foreach name in array p_attempts || p_distinct loop
    delete from fraud.velocity v where v.counter = name and v.member in (
      select w.member from fraud.velocity w where w.counter = name
      order by w.at desc, w.member desc offset p_cap);
  end loop;
  return query
    select v.counter,
      (count(*) filter (where v.at > p_since_1m))::integer,
      (count(*) filter (where v.at > p_since_1h))::integer,
      (count(*) filter (where v.at > p_since_24h))::integer,
      coalesce(sum(v.amount) filter (where v.at > p_since_1m), 0)::text,
      coalesce(sum(v.amount) filter (where v.at > p_since_1h), 0)::text,
      coalesce(sum(v.amount) filter (where v.at > p_since_24h), 0)::text
    from fraud.velocity v where v.counter = any(everything) group by v.counter;
  if p_seen is not null then
    select v.member into first_member from fraud.velocity v where v.counter = p_seen;
    if not found then
      insert into fraud.velocity (counter, member, amount, at) values (p_seen, p_payment_id, 0, p_at);
      first_member := p_payment_id;
    end if;
    return query select p_seen, (case when first_member = p_payment_id then 1 else 0 end), 0, 0,
      '0'::text, '0'::text, '0'::text;
  end if;
end;
$$;
