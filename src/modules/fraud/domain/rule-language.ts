// The merchant rule language, in the spirit of Stripe Radar's: `block if :amount_in_usd: > 5000 and
// :card_country: != :ip_country:`. Parsed into a tree on save (a bad rule is refused with the
// position of the bad token) and evaluated by walking that tree: never `eval`, never code.
//
//   rule    := ('allow' | 'block' | 'review') 'if' or
//   or      := and ('or' and)*
//   and     := not ('and' not)*
//   not     := 'not' not | primary
//   primary := '(' or ')' | operand [comparison]
//   comparison := ('=' | '!=' | '<' | '>' | '<=' | '>=') operand
//               | ['not'] 'in' ( '@list_name' | '(' literal (',' literal)* ')' )
//   operand := ':attribute:' | number | 'string' | "string" | true | false
//
// Keywords are case-insensitive. A bare operand must be a boolean attribute. Comparisons with an
// unknown value (a signal the payment did not carry) are false, whichever the operator.

export type RuleAction = 'allow' | 'block' | 'review';
export type ValueType = 'number' | 'string' | 'boolean';
export type Value = number | string | boolean | null;

export class RuleSyntaxError extends Error {
  constructor(
    message: string,
    /** 1-based character position of the offending token in the rule's text. */
    readonly position: number,
    /** The offending token's text ('' at the end of the rule). */
    readonly token: string,
  ) {
    super(message);
  }
}

export type Comparator = '=' | '!=' | '<' | '>' | '<=' | '>=';

export type Operand =
  | { readonly kind: 'attribute'; readonly name: string; readonly type: ValueType }
  | { readonly kind: 'literal'; readonly value: number | string | boolean; readonly type: ValueType };

export type Expression =
  | { readonly kind: 'or' | 'and'; readonly left: Expression; readonly right: Expression }
  | { readonly kind: 'not'; readonly operand: Expression }
  | { readonly kind: 'truthy'; readonly operand: Operand }
  | { readonly kind: 'compare'; readonly op: Comparator; readonly left: Operand; readonly right: Operand }
  | {
      readonly kind: 'in';
      readonly negated: boolean;
      readonly operand: Operand;
      readonly list:
        | { readonly kind: 'named'; readonly name: string }
        | { readonly kind: 'values'; readonly values: readonly (number | string)[] };
    };

export interface ParsedRule {
  readonly action: RuleAction;
  readonly condition: Expression;
  /** Attributes the rule reads (shown with their values in a decision's reasons). */
  readonly attributes: readonly string[];
  /** Lists the rule references (`@name`). */
  readonly lists: readonly string[];
}

/** What a rule may name: attribute → type. Metadata keys are `:metadata.key:` (strings). */
export type AttributeCatalog = ReadonlyMap<string, ValueType>;

type TokenKind = 'attribute' | 'list' | 'number' | 'string' | 'op' | '(' | ')' | ',' | 'word' | 'end';
interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly value: string;
  readonly position: number;
}

const maxRuleLength = 2000;

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  const fail = (message: string, at: number, text: string): never => {
    throw new RuleSyntaxError(`${message} at position ${at + 1}`, at + 1, text);
  };
  while (index < source.length) {
    const char = source[index]!;
    if (/\s/.test(char)) {
      index++;
      continue;
    }
    const start = index;
    if (char === ':') {
      const match = /^:([a-z][a-z0-9_]*(?:\.[A-Za-z0-9_-]{1,40})?):/.exec(source.slice(index));
      if (!match)
        fail('Expected an attribute like :amount:', start, source.slice(start, start + 20).split(/\s/)[0]!);
      tokens.push({ kind: 'attribute', text: match![0], value: match![1]!, position: start + 1 });
      index += match![0].length;
      continue;
    }
    if (char === '@') {
      const match = /^@([a-z][a-z0-9_]{0,63})/.exec(source.slice(index));
      if (!match) fail('Expected a list name like @blocked_emails', start, char);
      tokens.push({ kind: 'list', text: match![0], value: match![1]!, position: start + 1 });
      index += match![0].length;
      continue;
    }
    if (char === "'" || char === '"') {
      const end = source.indexOf(char, index + 1);
      if (end === -1) fail('Unterminated string', start, source.slice(start));
      const text = source.slice(start, end + 1);
      tokens.push({ kind: 'string', text, value: text.slice(1, -1), position: start + 1 });
      index = end + 1;
      continue;
    }
    const number = /^-?[0-9]+(?:\.[0-9]+)?/.exec(source.slice(index));
    if (number && (char !== '-' || /[0-9]/.test(source[index + 1] ?? ''))) {
      tokens.push({ kind: 'number', text: number[0], value: number[0], position: start + 1 });
      index += number[0].length;
      continue;
    }
    const op = /^(!=|<=|>=|=|<|>)/.exec(source.slice(index));
    if (op) {
      tokens.push({ kind: 'op', text: op[0], value: op[0], position: start + 1 });
      index += op[0].length;
      continue;
    }
    if (char === '(' || char === ')' || char === ',') {
      tokens.push({ kind: char, text: char, value: char, position: start + 1 });
      index++;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(index));
    if (word) {
      tokens.push({ kind: 'word', text: word[0], value: word[0].toLowerCase(), position: start + 1 });
      index += word[0].length;
      continue;
    }
    fail(`Unexpected character '${char}'`, start, char);
  }
  tokens.push({ kind: 'end', text: '', value: '', position: source.length + 1 });
  return tokens;
}

const actions: ReadonlySet<string> = new Set(['allow', 'block', 'review']);
const keywords: ReadonlySet<string> = new Set(['if', 'and', 'or', 'not', 'in', 'true', 'false', ...actions]);

class Parser {
  private index = 0;
  readonly attributes = new Set<string>();
  readonly lists = new Set<string>();

  constructor(
    private readonly tokens: readonly Token[],
    private readonly catalog: AttributeCatalog,
  ) {}

  private peek(): Token {
    return this.tokens[this.index]!;
  }

  private next(): Token {
    const token = this.tokens[this.index]!;
    if (token.kind !== 'end') this.index++;
    return token;
  }

  private fail(message: string, token: Token = this.peek()): never {
    const shown = token.kind === 'end' ? 'the end of the rule' : `'${token.text}'`;
    throw new RuleSyntaxError(
      `${message}, found ${shown} at position ${token.position}`,
      token.position,
      token.text,
    );
  }

  private isWord(value: string): boolean {
    const token = this.peek();
    return token.kind === 'word' && token.value === value;
  }

  parseRule(): ParsedRule {
    const first = this.next();
    if (first.kind !== 'word' || !actions.has(first.value))
      this.fail('A rule starts with allow, block or review', first);
    if (!this.isWord('if')) this.fail(`Expected 'if' after '${first.text}'`);
    this.next();
    const condition = this.parseOr();
    if (this.peek().kind !== 'end') this.fail('Expected and, or, or the end of the rule');
    return {
      action: first.value as RuleAction,
      condition,
      attributes: [...this.attributes],
      lists: [...this.lists],
    };
  }

  private parseOr(): Expression {
    let left = this.parseAnd();
    while (this.isWord('or')) {
      this.next();
      left = { kind: 'or', left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): Expression {
    let left = this.parseNot();
    while (this.isWord('and')) {
      this.next();
      left = { kind: 'and', left, right: this.parseNot() };
    }
    return left;
  }

  private parseNot(): Expression {
    if (this.isWord('not')) {
      this.next();
      return { kind: 'not', operand: this.parseNot() };
    }
    return this.parsePrimary();
  }

  private parsePrimary(): Expression {
    if (this.peek().kind === '(') {
      this.next();
      const inner = this.parseOr();
      if (this.peek().kind !== ')') this.fail("Expected ')'");
      this.next();
      return inner;
    }
    const operandToken = this.peek();
    const left = this.parseOperand();
    const token = this.peek();
    if (token.kind === 'op') {
      this.next();
      const rightToken = this.peek();
      const right = this.parseOperand();
      const op = token.value as Comparator;
      if (left.type !== right.type)
        this.fail(`Cannot compare a ${left.type} with a ${right.type}`, rightToken);
      if (left.type !== 'number' && op !== '=' && op !== '!=')
        this.fail(`'${op}' compares numbers only; ${describe(left)} is a ${left.type}`, token);
      if (left.kind === 'literal' && right.kind === 'literal')
        this.fail('A comparison needs at least one attribute', operandToken);
      return { kind: 'compare', op, left, right };
    }
    if (this.isWord('in') || (this.isWord('not') && this.tokens[this.index + 1]?.value === 'in')) {
      const negated = this.isWord('not');
      if (negated) this.next();
      this.next();
      return { kind: 'in', negated, operand: left, list: this.parseList(left) };
    }
    if (left.type !== 'boolean' || left.kind !== 'attribute')
      this.fail(`Expected a comparison after ${describe(left)}`);
    return { kind: 'truthy', operand: left };
  }

  private parseList(operand: Operand): Extract<Expression, { kind: 'in' }>['list'] {
    const token = this.next();
    if (token.kind === 'list') {
      this.lists.add(token.value);
      return { kind: 'named', name: token.value };
    }
    if (token.kind !== '(') this.fail("Expected a list: @name or ('a', 'b')", token);
    const values: (number | string)[] = [];
    for (;;) {
      const item = this.next();
      if (item.kind === 'string' && operand.type === 'string') values.push(item.value);
      else if (item.kind === 'number' && operand.type === 'number') values.push(Number(item.value));
      else this.fail(`Expected a ${operand.type} in the list`, item);
      const separator = this.next();
      if (separator.kind === ')') break;
      if (separator.kind !== ',') this.fail("Expected ',' or ')'", separator);
    }
    return { kind: 'values', values };
  }

  private parseOperand(): Operand {
    const token = this.next();
    switch (token.kind) {
      case 'attribute': {
        const type = token.value.startsWith('metadata.') ? 'string' : this.catalog.get(token.value);
        if (type === undefined) this.fail(`Unknown attribute ${token.text}`, token);
        this.attributes.add(token.value);
        return { kind: 'attribute', name: token.value, type: type! };
      }
      case 'number':
        return { kind: 'literal', value: Number(token.value), type: 'number' };
      case 'string':
        return { kind: 'literal', value: token.value, type: 'string' };
      case 'word':
        if (token.value === 'true' || token.value === 'false')
          return { kind: 'literal', value: token.value === 'true', type: 'boolean' };
        if (!keywords.has(token.value))
          this.fail('Expected an :attribute:, a number or a quoted string', token);
        return this.fail('Expected an :attribute:, a number or a quoted string', token);
      default:
        return this.fail('Expected an :attribute:, a number or a quoted string', token);
    }
  }
}

function describe(operand: Operand): string {
  return operand.kind === 'attribute' ? `:${operand.name}:` : JSON.stringify(operand.value);
}

/** Parses and type-checks a rule; throws RuleSyntaxError with the position of the bad token. */
export function parseRule(source: string, catalog: AttributeCatalog): ParsedRule {
  if (source.length > maxRuleLength)
    throw new RuleSyntaxError(`A rule is at most ${maxRuleLength} characters`, maxRuleLength + 1, '');
  return new Parser(tokenize(source), catalog).parseRule();
}

/** What a rule evaluates against: the signals, and the merchant's lists. */
export interface EvaluationInput {
  value(attribute: string): Value;
  listHas(list: string, value: string): boolean;
}

function operandValue(operand: Operand, input: EvaluationInput): Value {
  return operand.kind === 'literal' ? operand.value : input.value(operand.name);
}

function compare(op: Comparator, left: Value, right: Value): boolean {
  if (left === null || right === null) return false;
  switch (op) {
    case '=':
      return typeof left === 'string' && typeof right === 'string'
        ? left.toLowerCase() === right.toLowerCase()
        : left === right;
    case '!=':
      return typeof left === 'string' && typeof right === 'string'
        ? left.toLowerCase() !== right.toLowerCase()
        : left !== right;
    case '<':
      return left < right;
    case '>':
      return left > right;
    case '<=':
      return left <= right;
    case '>=':
      return left >= right;
    default:
      return op satisfies never;
  }
}

export function evaluate(expression: Expression, input: EvaluationInput): boolean {
  switch (expression.kind) {
    case 'or':
      return evaluate(expression.left, input) || evaluate(expression.right, input);
    case 'and':
      return evaluate(expression.left, input) && evaluate(expression.right, input);
    case 'not':
      return !evaluate(expression.operand, input);
    case 'truthy':
      return operandValue(expression.operand, input) === true;
    case 'compare':
      return compare(
        expression.op,
        operandValue(expression.left, input),
        operandValue(expression.right, input),
      );
    case 'in': {
      const value = operandValue(expression.operand, input);
      if (value === null || typeof value === 'boolean') return false;
      const found =
        expression.list.kind === 'named'
          ? input.listHas(expression.list.name, String(value).toLowerCase())
          : expression.list.values.some((item) =>
              typeof item === 'string' ? item.toLowerCase() === String(value).toLowerCase() : item === value,
            );
      return expression.negated ? !found : found;
    }
    default:
      return expression satisfies never;
  }
}
