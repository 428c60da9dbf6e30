-- Merchant id in the keys of fraud's per-merchant tables (ADR 35). The merchant goes last, so a rule
-- by id and an assessment by payment use the same one index as before. Rule versions get their rule's
-- merchant (filled on insert, backfilled here) and the foreign key carries it. The velocity counters
-- keep their key: a counter is a string that may span merchants (docs/deploy.md).
alter table fraud.rule_versions add column merchant_id text;
update fraud.rule_versions version set merchant_id = rule.merchant_id
from fraud.rules rule where rule.id = version.rule_id;
alter table fraud.rule_versions
  alter column merchant_id set not null,
  drop constraint rule_versions_rule_id_fkey,
  drop constraint rule_versions_pkey;

alter table fraud.rules drop constraint rules_pkey;
alter table fraud.rules add constraint rules_pkey primary key (id, merchant_id);

alter table fraud.rule_versions
  add constraint rule_versions_pkey primary key (rule_id, version, merchant_id),
  add constraint rule_versions_rule foreign key (rule_id, merchant_id) references fraud.rules (id, merchant_id);

alter table fraud.assessments drop constraint assessments_pkey;
alter table fraud.assessments add constraint assessments_pkey primary key (payment_id, merchant_id);
