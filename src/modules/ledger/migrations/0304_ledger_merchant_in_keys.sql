-- Merchant id in every ledger key (ADR 35), so that the ledger can be distributed by merchant later
-- without rewriting it. The merchant goes last in each key: a lookup by the leading columns (a journal
-- by id, a hold by payment, an account by code) is served by the same one index as before; no index
-- is added. Postings get the merchant of their journal, written by the same statement that writes
-- them, and the foreign keys carry it, so a posting can belong only to its journal's merchant and
-- post only to that merchant's accounts (which `ledger verify` checked after the fact until now).

alter table ledger.postings add column merchant_id text;

alter table ledger.postings disable trigger postings_append_only;
update ledger.postings posting set merchant_id = journal.merchant_id
from ledger.journals journal where journal.id = posting.journal_id;
alter table ledger.postings enable trigger postings_append_only;

alter table ledger.postings
  alter column merchant_id set not null,
  add constraint postings_merchant_id_check check (merchant_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  drop constraint postings_journal_id_fkey,
  drop constraint postings_account_currency;

alter table ledger.journals drop constraint journals_pkey;
alter table ledger.journals add constraint journals_pkey primary key (id, merchant_id);
drop index ledger.journals_one_hold_per_payment;
create unique index journals_one_hold_per_payment on ledger.journals (payment_id, merchant_id)
  where kind = 'authorization_hold';
drop index ledger.journals_hold_resolved_once;
create unique index journals_hold_resolved_once on ledger.journals (payment_id, merchant_id)
  where kind in ('capture', 'void', 'expiry');

alter table ledger.accounts
  drop constraint accounts_pkey,
  drop constraint accounts_code_key,
  drop constraint accounts_id_currency;
alter table ledger.accounts
  add constraint accounts_pkey primary key (id, merchant_id),
  add constraint accounts_code_key unique (code, merchant_id),
  add constraint accounts_id_currency unique (id, currency, merchant_id);

alter table ledger.postings
  drop constraint postings_pkey,
  drop constraint postings_journal_sequence;
alter table ledger.postings
  add constraint postings_pkey primary key (id, merchant_id),
  add constraint postings_journal_sequence unique (journal_id, sequence, merchant_id),
  add constraint postings_journal foreign key (journal_id, merchant_id)
    references ledger.journals (id, merchant_id),
  add constraint postings_account_currency foreign key (account_id, currency, merchant_id)
    references ledger.accounts (id, currency, merchant_id);
