-- Retention (ADR 28): events.log stays append-only for everyone except the retention job, which
-- deletes old, fully handled rows inside a transaction that sets `payflow.events_retention` to 'on'
-- locally. Updates and truncation stay refused for everyone.
create or replace function events.refuse_change() returns trigger
  language plpgsql as $$
begin
  if tg_op = 'DELETE' and tg_table_name = 'log'
     and current_setting('payflow.events_retention', true) = 'on' then
    return old;
  end if;
  raise exception 'events.% is append-only: % is not allowed', tg_table_name, tg_op using errcode = 'P0001';
end;
$$;
