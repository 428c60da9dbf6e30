-- The velocity of several screenings in one statement (issue 12, ADR 18's batching across requests):
-- fraud.record_attempt for each element of a JSON array, in order, in one implicit transaction, so
-- the n-th sees the attempts before it exactly as n statements one after another would. Each row
-- says which element it answers (o_index, from 0). The PostgreSQL store sends concurrent screenings
-- this way under load; alone, a screening still calls fraud.record_attempt.
create function fraud.record_attempts(p_batch jsonb, p_cap integer)
returns table (o_index integer, o_counter text, c1 integer, c2 integer, c3 integer, s1 text, s2 text, s3 text)
language plpgsql as $$
declare
  item jsonb;
  item_index integer := 0;
begin
  for item in select value from jsonb_array_elements(p_batch) loop
    return query
      select item_index, attempt.o_counter, attempt.c1, attempt.c2, attempt.c3, attempt.s1, attempt.s2, attempt.s3
      from fraud.record_attempt(
        array(select jsonb_array_elements_text(item -> 'attempts')),
        array(select jsonb_array_elements_text(item -> 'distinct')),
        array(select jsonb_array_elements_text(item -> 'outcomes')),
        item ->> 'seen',
        item ->> 'paymentId',
        item ->> 'fingerprint',
        (item ->> 'amount')::bigint,
        (item ->> 'at')::timestamptz,
        (item ->> 'since1m')::timestamptz,
        (item ->> 'since1h')::timestamptz,
        (item ->> 'since24h')::timestamptz,
        p_cap
      ) as attempt;
    item_index := item_index + 1;
  end loop;
end;
$$;
