import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate, parseRule, RuleSyntaxError, type Value } from './rule-language.ts';
import { attributeCatalog } from './screening.ts';

const parse = (source: string) => parseRule(source, attributeCatalog);

function run(source: string, values: Record<string, Value>, lists: Record<string, string[]> = {}) {
  const rule = parse(source);
  return evaluate(rule.condition, {
    value: (name) => values[name] ?? null,
    listHas: (list, value) => lists[list]?.includes(value) ?? false,
  });
}

function syntaxError(source: string): RuleSyntaxError {
  try {
    parse(source);
  } catch (error) {
    assert.ok(error instanceof RuleSyntaxError, String(error));
    return error;
  }
  assert.fail(`"${source}" parsed`);
}

test("Radar's example parses and evaluates with precedence: and binds tighter than or", () => {
  const source = 'Block if :amount_in_usd: > 5000 and :card_country: != :ip_country:';
  assert.equal(parse(source).action, 'block');
  assert.deepEqual([...parse(source).attributes].sort(), ['amount_in_usd', 'card_country', 'ip_country']);
  assert.equal(run(source, { amount_in_usd: 6000, card_country: 'US', ip_country: 'AU' }), true);
  assert.equal(run(source, { amount_in_usd: 6000, card_country: 'US', ip_country: 'us' }), false);
  assert.equal(run(source, { amount_in_usd: 10, card_country: 'US', ip_country: 'AU' }), false);
  const precedence = "review if :amount: > 100 or :currency: = 'EUR' and :amount: < 1";
  assert.equal(run(precedence, { amount: 200, currency: 'USD' }), true);
  assert.equal(run(precedence, { amount: 50, currency: 'EUR' }), false);
  assert.equal(
    run("review if (:amount: > 100 or :currency: = 'EUR') and :amount: < 1", {
      amount: 0.5,
      currency: 'EUR',
    }),
    true,
  );
});

test('lists, literal lists, not, booleans and metadata', () => {
  assert.equal(
    run('block if :email: in @blocked_emails', { email: 'a@b.c' }, { blocked_emails: ['a@b.c'] }),
    true,
  );
  assert.equal(
    run('block if :email: not in @blocked_emails', { email: 'a@b.c' }, { blocked_emails: ['a@b.c'] }),
    false,
  );
  assert.equal(run("block if :card_country: IN ('NG', 'RU')", { card_country: 'ru' }), true);
  assert.equal(
    run('review if :is_first_seen_card: and :amount: >= 100', { is_first_seen_card: true, amount: 100 }),
    true,
  );
  assert.equal(run('review if not :is_first_seen_card:', { is_first_seen_card: true }), false);
  assert.equal(run("block if :metadata.channel: = 'phone'", { 'metadata.channel': 'phone' }), true);
});

test('an unknown value makes every comparison false, whatever the operator', () => {
  for (const op of ['=', '!=', '<', '>', '<=', '>='])
    assert.equal(run(`block if :amount_in_usd: ${op} 5`, {}), false, op);
  assert.equal(run('block if :email: not in @x', {}), false);
});

test('a bad rule names the position and the token', () => {
  const cases: [string, number, string, RegExp][] = [
    ['block if :amount_in_usd: > and', 28, 'and', /Expected an :attribute:/],
    ['block if :amont: > 5', 10, ':amont:', /Unknown attribute :amont:/],
    ['deny if :amount: > 5', 1, 'deny', /starts with allow, block or review/],
    ['block :amount: > 5', 7, ':amount:', /Expected 'if'/],
    ["block if :card_country: > 'US'", 25, '>', /compares numbers only/],
    ["block if :amount: = 'ten'", 21, "'ten'", /Cannot compare a number with a string/],
    ['block if (:amount: > 5', 23, '', /Expected '\)'.*end of the rule/],
    ['block if :amount: > 5 5', 23, '5', /Expected and, or/],
    ["block if :email: = 'x", 20, "'x", /Unterminated string/],
    ['block if :amount: > 5 ; drop', 23, ';', /Unexpected character/],
    ['block if :amount:', 18, '', /Expected a comparison/],
  ];
  for (const [source, position, token, message] of cases) {
    const error = syntaxError(source);
    assert.match(error.message, message, source);
    assert.equal(error.position, position, `${source}: ${error.message}`);
    assert.equal(error.token, token, source);
    assert.match(error.message, new RegExp(`position ${position}`), source);
  }
});

test('a rule is at most 2000 characters', () => {
  assert.match(syntaxError(`block if :amount: > 1${' '.repeat(2000)}`).message, /at most 2000/);
});
