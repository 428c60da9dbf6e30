// House rule behind shared transactions (ADR 18): every guarded change of an existing payments row
// (`updatePayment`, `settleRefund`, … : an UPDATE with a WHERE guard that answers undefined when the
// guard missed) has its answer checked, so a work whose guard misses fails loudly or writes nothing
// more, and a batch-mate's change is never silently overwritten or built upon. A source scan with
// the TypeScript parser: the guarded changes are found in src/modules/payments/infra (exported, they
// update a row and return `Promise<… | undefined>`), then every call of one in src/modules/payments
// must use its answer: not a bare statement, not `void`, not a variable never read again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { repositoryRoot } from './support/server.ts';

const paymentsRoot = path.join(repositoryRoot, 'src/modules/payments');

function sourceFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((entry) => {
    const full = path.join(directory, entry);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return entry.endsWith('.ts') && !entry.endsWith('.test.ts') ? [full] : [];
  });
}

function parse(file: string, text = readFileSync(file, 'utf8')): ts.SourceFile {
  return ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
}

/** A row change, not a `select … for update` lock: SQL `update <table>`, or the payments' batch update. */
const changesARow = /(?<!for )\bupdate\s+[a-z_]+\.|\bupdatePayments\(/i;

/** Exported functions that change an existing row under a guard and answer undefined when it missed. */
function guardedChanges(source: ts.SourceFile): string[] {
  const names: string[] = [];
  for (const statement of source.statements) {
    if (!ts.isFunctionDeclaration(statement) || !statement.name || !statement.body || !statement.type)
      continue;
    const exported = statement.modifiers?.some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword);
    const answersUndefined = /^Promise<.*\|\s*undefined>$/s.test(statement.type.getText(source));
    if (exported && answersUndefined && changesARow.test(statement.body.getText(source)))
      names.push(statement.name.text);
  }
  return names;
}

function calleeName(call: ts.CallExpression): string | undefined {
  const callee = call.expression;
  if (ts.isIdentifier(callee)) return callee.text;
  if (ts.isPropertyAccessExpression(callee)) return callee.name.text;
  return undefined;
}

/** The node whose value the call's answer becomes, past `await` and parentheses. */
function consumer(call: ts.CallExpression): { node: ts.Node; value: ts.Node } {
  let value: ts.Node = call;
  while (ts.isAwaitExpression(value.parent) || ts.isParenthesizedExpression(value.parent))
    value = value.parent;
  return { node: value.parent, value };
}

function readAgain(declaration: ts.VariableDeclaration): boolean {
  if (!ts.isIdentifier(declaration.name)) return true; // destructured: its parts are what is read
  const name = declaration.name.text;
  let scope: ts.Node = declaration;
  while (!ts.isBlock(scope) && !ts.isSourceFile(scope)) scope = scope.parent;
  let reads = 0;
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && node.text === name && node !== declaration.name) reads += 1;
    node.forEachChild(visit);
  };
  visit(scope);
  return reads > 0;
}

/** Calls of `guarded` whose answer is dropped, as `file:line: text`. */
function ignoredAnswers(source: ts.SourceFile, guarded: ReadonlySet<string>): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const name = calleeName(node);
      if (name !== undefined && guarded.has(name)) {
        const { node: user } = consumer(node);
        const dropped =
          ts.isExpressionStatement(user) ||
          ts.isVoidExpression(user) ||
          (ts.isVariableDeclaration(user) && !readAgain(user));
        if (dropped) {
          const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
          found.push(
            `${path.relative(repositoryRoot, source.fileName)}:${line + 1}: ${node.getText(source).split('\n')[0]}`,
          );
        }
      }
    }
    node.forEachChild(visit);
  };
  visit(source);
  return found;
}

test('the guarded changes of payments rows are found where the rule says they are', () => {
  const guarded = sourceFiles(path.join(paymentsRoot, 'infra')).flatMap((file) =>
    guardedChanges(parse(file)),
  );
  // The scan must know the ones ADR 18 names; a rename that hid them from it would fail here.
  for (const name of ['updatePayment', 'settleRefund']) assert.ok(guarded.includes(name), name);
  // A lock is not a change (lockPayment's `for update`), a read is not either.
  for (const name of ['lockPayment', 'findPayment', 'findRefund'])
    assert.equal(guarded.includes(name), false, name);
});

test('every call of a guarded change in src/modules/payments uses its answer', () => {
  const guarded = new Set(
    sourceFiles(path.join(paymentsRoot, 'infra')).flatMap((file) => guardedChanges(parse(file))),
  );
  const ignored = sourceFiles(paymentsRoot).flatMap((file) => ignoredAnswers(parse(file), guarded));
  assert.deepEqual(ignored, [], 'a guarded change whose answer is dropped: check it (throw or stop)');
});

test('the scan flags a dropped answer and passes a checked one', () => {
  const guarded = new Set(['updatePayment']);
  const source = parse(
    path.join(paymentsRoot, 'application/example.ts'),
    `async function dropped(transaction, payment, changes, now) {
      await updatePayment(transaction, payment, changes, now);
      void updatePayment(transaction, payment, changes, now);
      const unread = await updatePayment(transaction, payment, changes, now);
    }
    async function checked(transaction, payment, changes, now) {
      const updated = await updatePayment(transaction, payment, changes, now);
      if (!updated) throw new Error('guard missed');
      if (!(await updatePayment(transaction, payment, changes, now))) return;
      return updatePayment(transaction, payment, changes, now);
    }
    const shared = (transaction) => updatePayment(transaction, read, changes, now);`,
  );
  assert.deepEqual(
    ignoredAnswers(source, guarded).map((line) => line.replace(/^.*example\.ts:/, '')),
    [
      '2: updatePayment(transaction, payment, changes, now)',
      '3: updatePayment(transaction, payment, changes, now)',
      '4: updatePayment(transaction, payment, changes, now)',
    ],
  );
  const repository = parse(
    path.join(paymentsRoot, 'infra/example.ts'),
    `export async function moveIt(sql, id): Promise<Thing | undefined> {
      const [row] = await sql\`update payments.things set a = 1 where id = \${id} and a = 0 returning *\`;
      return row;
    }
    export async function lockIt(sql, id): Promise<Thing | undefined> {
      const [row] = await sql\`select * from payments.things where id = \${id} for update\`;
      return row;
    }
    export async function moveQuietly(sql, id): Promise<void> {
      await sql\`update payments.things set a = 1 where id = \${id}\`;
    }`,
  );
  assert.deepEqual(guardedChanges(repository), ['moveIt']);
});
