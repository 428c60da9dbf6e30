-- The commit-time balance check, cheaper and with the same guarantee: each journal is checked in one
-- query (posting count and per-currency sums together), and a posting whose journal was inserted by
-- the same (top-level) transaction leaves the check to that journal's own trigger, which sees every
-- posting at commit. Postings added to a journal of an earlier transaction still re-check it.
create or replace function ledger.assert_journal_balanced(checked_journal_id text) returns void
  language plpgsql as $$
declare
  posting_count bigint := 0;
  unbalanced_currency text;
  unbalanced_total numeric;
  line record;
begin
  for line in
    select currency, count(*) as postings, sum(amount) as total
    from ledger.postings where journal_id = checked_journal_id group by currency
  loop
    posting_count := posting_count + line.postings;
    if line.total <> 0 and unbalanced_currency is null then
      unbalanced_currency := line.currency;
      unbalanced_total := line.total;
    end if;
  end loop;
  if posting_count < 2 then
    raise exception 'ledger journal % has % posting(s); it needs at least 2', checked_journal_id, posting_count
      using errcode = '23514';
  end if;
  if unbalanced_currency is not null then
    raise exception 'ledger journal % is unbalanced in %: postings sum to %',
      checked_journal_id, unbalanced_currency, unbalanced_total
      using errcode = '23514';
  end if;
end;
$$;

create or replace function ledger.check_journal_of_row() returns trigger
  language plpgsql as $$
begin
  if tg_table_name = 'journals' then
    perform ledger.assert_journal_balanced(new.id);
  elsif not exists (
    select 1 from ledger.journals
    where id = new.journal_id and xmin = pg_current_xact_id()::xid
  ) then
    perform ledger.assert_journal_balanced(new.journal_id);
  end if;
  return null;
end;
$$;
