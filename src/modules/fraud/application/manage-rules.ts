// Merchant rules and lists: validated on save (a bad rule is a 400 `rule_invalid` naming the position
// of the bad token), versioned (every change bumps the merchant's ruleset version and is kept in
// fraud.rule_versions), and a backtest that runs a draft over past decisions' signals.
import { DomainError } from '../../../platform/errors.ts';
import { newId } from '../../../platform/ids.ts';
import {
  evaluate,
  parseRule,
  RuleSyntaxError,
  type ParsedRule,
  type RuleAction,
} from '../domain/rule-language.ts';
import { attributeCatalog, shownValue } from '../domain/screening.ts';
import {
  addListItems,
  assessmentsSince,
  bumpRuleset,
  deleteRule,
  findRule,
  findRuleset,
  insertRule,
  listItems,
  removeListItem,
  saveRuleVersion,
  updateRule,
  type RuleRow,
} from '../infra/fraud-repository.ts';
import { invalidateRuleset, loadRuleset, type FraudDependencies } from './screen-payment.ts';

export function parseOrReject(source: string): ParsedRule {
  try {
    return parseRule(source, attributeCatalog);
  } catch (error) {
    if (error instanceof RuleSyntaxError)
      throw new DomainError('rule_invalid', 400, error.message, {
        position: error.position,
        token: error.token,
      });
    throw error;
  }
}

export function ruleView(rule: RuleRow) {
  return {
    id: rule.id,
    action: rule.action,
    rule: rule.source,
    description: rule.description,
    enabled: rule.enabled,
    version: rule.version,
    createdAt: rule.created_at.toISOString(),
    updatedAt: rule.updated_at.toISOString(),
  };
}

const ruleNotFound = () => new DomainError('rule_not_found', 404, 'No such rule.');

export async function createRule(
  dependencies: FraudDependencies,
  merchantId: string,
  input: { rule: string; description?: string | undefined; enabled?: boolean | undefined },
) {
  const parsed = parseOrReject(input.rule);
  const now = dependencies.clock.now();
  const created = await dependencies.sql.begin(async (transaction) => {
    const rulesetVersion = await bumpRuleset(transaction, merchantId, now);
    const rule = await insertRule(transaction, {
      id: newId('rule'),
      merchant_id: merchantId,
      action: parsed.action,
      source: input.rule,
      description: input.description ?? null,
      enabled: input.enabled ?? true,
      created_at: now,
    });
    await saveRuleVersion(transaction, rule, false, now);
    return { rule, rulesetVersion };
  });
  invalidateRuleset(merchantId);
  return { ...ruleView(created.rule), rulesetVersion: created.rulesetVersion };
}

export async function changeRule(
  dependencies: FraudDependencies,
  merchantId: string,
  id: string,
  input: {
    rule?: string | undefined;
    description?: string | null | undefined;
    enabled?: boolean | undefined;
  },
) {
  const parsed = input.rule === undefined ? undefined : parseOrReject(input.rule);
  const now = dependencies.clock.now();
  const changed = await dependencies.sql.begin(async (transaction) => {
    const rulesetVersion = await bumpRuleset(transaction, merchantId, now);
    const current = await findRule(transaction, merchantId, id);
    if (!current) throw ruleNotFound();
    const rule = await updateRule(
      transaction,
      merchantId,
      id,
      {
        action: parsed?.action ?? current.action,
        source: input.rule ?? current.source,
        description: input.description === undefined ? current.description : input.description,
        enabled: input.enabled ?? current.enabled,
      },
      now,
    );
    if (!rule) throw ruleNotFound();
    await saveRuleVersion(transaction, rule, false, now);
    return { rule, rulesetVersion };
  });
  invalidateRuleset(merchantId);
  return { ...ruleView(changed.rule), rulesetVersion: changed.rulesetVersion };
}

export async function removeRule(
  dependencies: FraudDependencies,
  merchantId: string,
  id: string,
): Promise<void> {
  const now = dependencies.clock.now();
  await dependencies.sql.begin(async (transaction) => {
    await bumpRuleset(transaction, merchantId, now);
    const rule = await deleteRule(transaction, merchantId, id, now);
    if (!rule) throw ruleNotFound();
    await saveRuleVersion(transaction, rule, true, now);
  });
  invalidateRuleset(merchantId);
}

export async function setVelocityFailMode(
  dependencies: FraudDependencies,
  merchantId: string,
  mode: 'open' | 'closed',
) {
  const now = dependencies.clock.now();
  const version = await dependencies.sql.begin((transaction) =>
    bumpRuleset(transaction, merchantId, now, mode),
  );
  invalidateRuleset(merchantId);
  return { velocityFailMode: mode, rulesetVersion: version };
}

export async function fraudSettings(dependencies: FraudDependencies, merchantId: string) {
  const row = await findRuleset(dependencies.sql, merchantId);
  return { velocityFailMode: row?.velocity_fail_mode ?? 'open', rulesetVersion: row?.version ?? 0 };
}

/** A list value as stored and compared: trimmed, lower-cased, 1 to 320 characters, no control characters. */
export function normalizeListValue(value: string): string {
  const normalized = value.trim().toLowerCase();
  // eslint-disable-next-line no-control-regex -- control characters are what it refuses
  if (normalized.length === 0 || normalized.length > 320 || /[\u0000-\u001f\u007f]/.test(normalized))
    throw new DomainError(
      'invalid_list_value',
      400,
      'A list value is 1 to 320 characters once trimmed and lower-cased, without control characters.',
      { value: normalized.slice(0, 40) },
    );
  return normalized;
}

/** List values are compared without case: stored lower-cased. */
export async function addToList(
  dependencies: FraudDependencies,
  merchantId: string,
  listName: string,
  values: readonly string[],
) {
  const normalized = values.map((value) => normalizeListValue(value));
  const now = dependencies.clock.now();
  await dependencies.sql.begin(async (transaction) => {
    await bumpRuleset(transaction, merchantId, now);
    await addListItems(transaction, merchantId, listName, normalized, now);
  });
  invalidateRuleset(merchantId);
  return listView(dependencies, merchantId, listName);
}

export async function removeFromList(
  dependencies: FraudDependencies,
  merchantId: string,
  listName: string,
  value: string,
) {
  const now = dependencies.clock.now();
  await dependencies.sql.begin(async (transaction) => {
    await bumpRuleset(transaction, merchantId, now);
    if (!(await removeListItem(transaction, merchantId, listName, value.trim().toLowerCase())))
      throw new DomainError('list_item_not_found', 404, `No such value in @${listName}.`);
  });
  invalidateRuleset(merchantId);
}

export async function listView(dependencies: FraudDependencies, merchantId: string, listName?: string) {
  const items = await listItems(dependencies.sql, merchantId, listName);
  const lists = new Map<string, string[]>();
  for (const item of items) lists.set(item.list_name, [...(lists.get(item.list_name) ?? []), item.value]);
  return [...lists].map(([name, values]) => ({ name, values }));
}

export interface BacktestResult {
  readonly action: RuleAction;
  readonly days: number;
  readonly evaluated: number;
  readonly matched: number;
  /** Matches whose decision then was allow: what the draft would newly block or review. */
  readonly changed: number;
  readonly examples: readonly {
    paymentId: string;
    createdAt: string;
    decisionThen: string;
    values: Record<string, unknown>;
  }[];
}

/** Runs a draft rule over the merchant's decisions of the last `days` days; changes nothing. */
export async function backtestRule(
  dependencies: FraudDependencies,
  merchantId: string,
  source: string,
  days: number,
  limit = 10_000,
): Promise<BacktestResult> {
  const parsed = parseOrReject(source);
  const since = new Date(dependencies.clock.now().getTime() - days * 86_400_000);
  const [rows, ruleset] = await Promise.all([
    assessmentsSince(dependencies.sql, merchantId, since, limit),
    loadRuleset(dependencies, merchantId),
  ]);
  let matched = 0;
  let changed = 0;
  const examples: BacktestResult['examples'][number][] = [];
  for (const row of rows) {
    const input = {
      value: (attribute: string) => row.signals[attribute] ?? null,
      listHas: (list: string, value: string) => ruleset.lists.get(list)?.has(value) ?? false,
    };
    if (!evaluate(parsed.condition, input)) continue;
    matched++;
    if (row.decision !== parsed.action) changed++;
    if (examples.length < 10)
      examples.push({
        paymentId: row.payment_id,
        createdAt: row.created_at.toISOString(),
        decisionThen: row.decision,
        values: Object.fromEntries(
          parsed.attributes.map((name) => [name, shownValue(name, row.signals[name] ?? null)]),
        ),
      });
  }
  return { action: parsed.action, days, evaluated: rows.length, matched, changed, examples };
}
