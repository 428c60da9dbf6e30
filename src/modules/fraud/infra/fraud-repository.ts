// SQL for the fraud module's own tables (schema `fraud`): rules and their versions, lists, the
// per-merchant ruleset version and settings, assessments and alerts.
import { coalescedWrite } from '../../../platform/db/batcher.ts';
import type { Queryable, TransactionSql } from '../../../platform/db/client.ts';
import type { Decision, Reason } from '../domain/screening.ts';
import type { RuleAction, Value } from '../domain/rule-language.ts';

export interface RuleRow {
  id: string;
  merchant_id: string;
  action: RuleAction;
  source: string;
  description: string | null;
  enabled: boolean;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface RulesetRow {
  merchant_id: string;
  version: number;
  velocity_fail_mode: 'open' | 'closed';
}

export async function listRules(sql: Queryable, merchantId: string): Promise<RuleRow[]> {
  return sql<RuleRow[]>`
    select id, merchant_id, action, source, description, enabled, version, created_at, updated_at
    from fraud.rules where merchant_id = ${merchantId} and deleted_at is null order by created_at, id`;
}

export async function findRule(sql: Queryable, merchantId: string, id: string): Promise<RuleRow | undefined> {
  const [row] = await sql<RuleRow[]>`
    select id, merchant_id, action, source, description, enabled, version, created_at, updated_at
    from fraud.rules where merchant_id = ${merchantId} and id = ${id} and deleted_at is null`;
  return row;
}

export async function findRuleset(sql: Queryable, merchantId: string): Promise<RulesetRow | undefined> {
  const [row] = await sql<RulesetRow[]>`
    select merchant_id, version, velocity_fail_mode from fraud.rulesets where merchant_id = ${merchantId}`;
  return row;
}

/** Bumps the merchant's ruleset version (creating it at 1), serializing rule changes per merchant. */
export async function bumpRuleset(
  transaction: TransactionSql,
  merchantId: string,
  now: Date,
  failMode?: 'open' | 'closed',
): Promise<number> {
  const [row] = await transaction<{ version: number }[]>`
    insert into fraud.rulesets (merchant_id, version, velocity_fail_mode, updated_at)
    values (${merchantId}, 1, ${failMode ?? 'open'}, ${now})
    on conflict (merchant_id) do update set version = fraud.rulesets.version + 1,
      velocity_fail_mode = coalesce(${failMode ?? null}, fraud.rulesets.velocity_fail_mode),
      updated_at = excluded.updated_at
    returning version`;
  return row!.version;
}

export async function saveRuleVersion(
  transaction: TransactionSql,
  rule: RuleRow,
  deleted: boolean,
  now: Date,
): Promise<void> {
  await transaction`
    insert into fraud.rule_versions (rule_id, merchant_id, version, action, source, enabled, deleted, created_at)
    values (${rule.id}, ${rule.merchant_id}, ${rule.version}, ${rule.action}, ${rule.source}, ${rule.enabled}, ${deleted}, ${now})`;
}

export async function insertRule(
  transaction: TransactionSql,
  rule: Omit<RuleRow, 'version' | 'updated_at'>,
): Promise<RuleRow> {
  const [row] = await transaction<RuleRow[]>`
    insert into fraud.rules (id, merchant_id, action, source, description, enabled, version, created_at, updated_at)
    values (${rule.id}, ${rule.merchant_id}, ${rule.action}, ${rule.source}, ${rule.description}, ${rule.enabled}, 1,
      ${rule.created_at}, ${rule.created_at})
    returning id, merchant_id, action, source, description, enabled, version, created_at, updated_at`;
  return row!;
}

export async function updateRule(
  transaction: TransactionSql,
  merchantId: string,
  id: string,
  changes: { action: RuleAction; source: string; description: string | null; enabled: boolean },
  now: Date,
): Promise<RuleRow | undefined> {
  const [row] = await transaction<RuleRow[]>`
    update fraud.rules set action = ${changes.action}, source = ${changes.source},
      description = ${changes.description}, enabled = ${changes.enabled}, version = version + 1, updated_at = ${now}
    where merchant_id = ${merchantId} and id = ${id} and deleted_at is null
    returning id, merchant_id, action, source, description, enabled, version, created_at, updated_at`;
  return row;
}

export async function deleteRule(
  transaction: TransactionSql,
  merchantId: string,
  id: string,
  now: Date,
): Promise<RuleRow | undefined> {
  const [row] = await transaction<RuleRow[]>`
    update fraud.rules set deleted_at = ${now}, version = version + 1, updated_at = ${now}
    where merchant_id = ${merchantId} and id = ${id} and deleted_at is null
    returning id, merchant_id, action, source, description, enabled, version, created_at, updated_at`;
  return row;
}

export interface ListItemRow {
  list_name: string;
  value: string;
  created_at: Date;
}

export async function listItems(
  sql: Queryable,
  merchantId: string,
  listName?: string,
): Promise<ListItemRow[]> {
  return sql<ListItemRow[]>`
    select list_name, value, created_at from fraud.list_items
    where merchant_id = ${merchantId} ${listName ? sql`and list_name = ${listName}` : sql``}
    order by list_name, value`;
}

export async function addListItems(
  transaction: TransactionSql,
  merchantId: string,
  listName: string,
  values: readonly string[],
  now: Date,
): Promise<void> {
  for (const value of values)
    await transaction`insert into fraud.list_items (merchant_id, list_name, value, created_at)
      values (${merchantId}, ${listName}, ${value}, ${now}) on conflict do nothing`;
}

export async function removeListItem(
  transaction: TransactionSql,
  merchantId: string,
  listName: string,
  value: string,
): Promise<boolean> {
  const rows = await transaction`delete from fraud.list_items
    where merchant_id = ${merchantId} and list_name = ${listName} and value = ${value} returning value`;
  return rows.length > 0;
}

export interface AssessmentRow {
  payment_id: string;
  merchant_id: string;
  decision: Decision;
  score: number;
  reasons: Reason[];
  signals: Record<string, Value>;
  ruleset_version: number;
  created_at: Date;
}

/**
 * Stores the decision in the caller's transaction (payments' phase 2, with the state change it
 * led to); a payment whose decision is stored already keeps its first one.
 */
export async function insertAssessment(transaction: TransactionSql, row: AssessmentRow): Promise<void> {
  await insertAssessments(transaction, row);
}

/** Decisions in one insert (the rows of the works sharing a transaction, ADR 18). */
const insertAssessments = coalescedWrite(
  async (transaction: TransactionSql, rows: readonly AssessmentRow[]): Promise<readonly undefined[]> => {
    await transaction`
      insert into fraud.assessments (payment_id, merchant_id, decision, score, reasons, signals, ruleset_version, created_at)
      select payment_id, merchant_id, decision, score, reasons::jsonb, signals::jsonb, ruleset_version, created_at
      from unnest(
        ${rows.map((row) => row.payment_id)}::text[],
        ${rows.map((row) => row.merchant_id)}::text[],
        ${rows.map((row) => row.decision)}::text[],
        ${rows.map((row) => row.score)}::int[],
        ${rows.map((row) => JSON.stringify(row.reasons))}::text[],
        ${rows.map((row) => JSON.stringify(row.signals))}::text[],
        ${rows.map((row) => row.ruleset_version)}::int[],
        ${rows.map((row) => row.created_at.toISOString())}::timestamptz[]
      ) as row (payment_id, merchant_id, decision, score, reasons, signals, ruleset_version, created_at)
      on conflict (payment_id, merchant_id) do nothing`;
    return rows.map(() => undefined);
  },
);

export async function findAssessment(sql: Queryable, paymentId: string): Promise<AssessmentRow | undefined> {
  const [row] = await sql<AssessmentRow[]>`select * from fraud.assessments where payment_id = ${paymentId}`;
  return row;
}

export async function assessmentsSince(
  sql: Queryable,
  merchantId: string,
  since: Date,
  limit: number,
): Promise<AssessmentRow[]> {
  return sql<AssessmentRow[]>`
    select * from fraud.assessments where merchant_id = ${merchantId} and created_at >= ${since}
    order by created_at desc limit ${limit}`;
}

/** Records an alert once per (merchant, kind, window); true when this call raised it. */
export async function raiseAlertOnce(
  transaction: TransactionSql,
  merchantId: string,
  kind: string,
  windowStart: Date,
  now: Date,
): Promise<boolean> {
  const rows = await transaction`insert into fraud.alerts (merchant_id, kind, window_start, raised_at)
    values (${merchantId}, ${kind}, ${windowStart}, ${now}) on conflict do nothing returning kind`;
  return rows.length > 0;
}
