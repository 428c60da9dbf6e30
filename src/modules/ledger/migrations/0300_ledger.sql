-- The ledger: accounts, journal transactions and their postings. Append-only: the database itself
-- refuses UPDATE, DELETE and TRUNCATE on journals, postings and accounts, and a deferred constraint
-- trigger checks at commit that every journal touched has at least two postings summing to zero per
-- currency. Balances are derived from postings; no balance is stored.
create schema ledger;

create table ledger.accounts (
  id bigint generated always as identity primary key,
  code text not null unique,
  merchant_id text not null check (merchant_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  currency text not null check (currency ~ '^[A-Z]{3}$'),
  role text not null check (
    role in (
      'authorization_holds',
      'authorization_hold_contra',
      'receivable_from_acquirer',
      'payable',
      'refunds',
      'fee_revenue',
      'bank'
    )
  ),
  normal_side text not null check (normal_side in ('debit', 'credit')),
  created_at timestamptz not null default now(),
  -- The code says the same as the columns: merchant:{merchantId}:{currency}:{role}.
  constraint accounts_code_matches check (code = 'merchant:' || merchant_id || ':' || currency || ':' || role),
  constraint accounts_normal_side_matches check (
    normal_side = case
      when role in ('authorization_holds', 'receivable_from_acquirer', 'bank') then 'debit'
      else 'credit'
    end
  ),
  -- Target of the postings' (account_id, currency) foreign key: a posting's currency is its account's.
  constraint accounts_id_currency unique (id, currency)
);

create index accounts_merchant on ledger.accounts (merchant_id, currency, role);

create table ledger.journals (
  id text primary key check (id ~ '^[A-Za-z0-9_.:-]{1,64}$'),
  kind text not null check (
    kind in (
      'authorization_hold',
      'capture',
      'void',
      'expiry',
      'refund',
      'fee',
      'acquirer_settlement',
      'merchant_payout'
    )
  ),
  payment_id text check (payment_id is null or payment_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  merchant_id text not null check (merchant_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  occurred_at timestamptz not null,
  created_at timestamptz not null default now(),
  constraint journals_payment_kinds check (
    payment_id is not null or kind in ('fee', 'acquirer_settlement', 'merchant_payout')
  )
);

create index journals_payment on ledger.journals (merchant_id, payment_id) where payment_id is not null;

-- Two-phase holds: a payment has at most one hold, and the hold is resolved (capture, void or expiry)
-- at most once. A second capture of one authorization cannot be posted whatever the caller does.
create unique index journals_one_hold_per_payment on ledger.journals (payment_id)
  where kind = 'authorization_hold';
create unique index journals_hold_resolved_once on ledger.journals (payment_id)
  where kind in ('capture', 'void', 'expiry');

create table ledger.postings (
  id bigint generated always as identity primary key,
  journal_id text not null references ledger.journals (id),
  sequence smallint not null check (sequence >= 0 and sequence < 10000),
  account_id bigint not null,
  currency text not null check (currency ~ '^[A-Z]{3}$'),
  -- Minor units: positive is a debit, negative a credit.
  amount bigint not null check (amount <> 0),
  created_at timestamptz not null default now(),
  constraint postings_journal_sequence unique (journal_id, sequence),
  constraint postings_account_currency foreign key (account_id, currency)
    references ledger.accounts (id, currency)
);

-- Balances of an account are read with index-only scans over this index.
create index postings_account on ledger.postings (account_id) include (amount);

-- Append-only: no UPDATE, DELETE or TRUNCATE, whoever asks (only a superuser disabling the trigger can).
create function ledger.refuse_change() returns trigger
  language plpgsql as $$
begin
  raise exception 'ledger.% is append-only: % is not allowed', tg_table_name, tg_op
    using errcode = 'P0001', hint = 'post a correcting journal instead';
end;
$$;

create trigger postings_append_only before update or delete on ledger.postings
  for each row execute function ledger.refuse_change();
create trigger postings_no_truncate before truncate on ledger.postings
  for each statement execute function ledger.refuse_change();
create trigger journals_append_only before update or delete on ledger.journals
  for each row execute function ledger.refuse_change();
create trigger journals_no_truncate before truncate on ledger.journals
  for each statement execute function ledger.refuse_change();
create trigger accounts_append_only before update or delete on ledger.accounts
  for each row execute function ledger.refuse_change();
create trigger accounts_no_truncate before truncate on ledger.accounts
  for each statement execute function ledger.refuse_change();

-- At commit: the journal has at least two postings, and they sum to zero in every currency.
create function ledger.assert_journal_balanced(checked_journal_id text) returns void
  language plpgsql as $$
declare
  posting_count bigint;
  unbalanced record;
begin
  select count(*) into posting_count from ledger.postings where journal_id = checked_journal_id;
  if posting_count < 2 then
    raise exception 'ledger journal % has % posting(s); it needs at least 2', checked_journal_id, posting_count
      using errcode = '23514';
  end if;
  select currency, sum(amount) as total into unbalanced
    from ledger.postings where journal_id = checked_journal_id
    group by currency having sum(amount) <> 0
    limit 1;
  if found then
    raise exception 'ledger journal % is unbalanced in %: postings sum to %',
      checked_journal_id, unbalanced.currency, unbalanced.total
      using errcode = '23514';
  end if;
end;
$$;

create function ledger.check_journal_of_row() returns trigger
  language plpgsql as $$
begin
  if tg_table_name = 'journals' then
    perform ledger.assert_journal_balanced(new.id);
  else
    perform ledger.assert_journal_balanced(new.journal_id);
  end if;
  return null;
end;
$$;

-- A new journal must be complete at commit; a posting added to any journal re-checks that journal.
create constraint trigger journals_balanced_at_commit after insert on ledger.journals
  deferrable initially deferred
  for each row execute function ledger.check_journal_of_row();
create constraint trigger postings_balanced_at_commit after insert on ledger.postings
  deferrable initially deferred
  for each row execute function ledger.check_journal_of_row();
