// The concept pages in docs/: their generated blocks equal what scripts/concept-docs.ts makes from
// the code today (the simulator's test cards, the currency table), the README links each page, and
// every relative link in them points at a file that exists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { generatedBlocks, pagePath, replaceBlock } from '../scripts/concept-docs.ts';
import { testCards } from '../src/simulator/test-cards.ts';
import { currencyCodes } from '../src/platform/money.ts';
import { errorCodes } from '../src/platform/error-codes.ts';

const conceptPages = [
  'docs/payment-states.md',
  'docs/idempotency.md',
  'docs/webhooks.md',
  'docs/money.md',
  'docs/test-cards.md',
  'docs/errors.md',
];

test('every generated block is what the code makes today (run npm run docs:concepts after a change)', () => {
  for (const [name, block] of Object.entries(generatedBlocks)) {
    const text = readFileSync(pagePath(block.file), 'utf8');
    assert.equal(text, replaceBlock(text, name, block.render()), `${block.file}: block ${name} is stale`);
  }
  const cards = readFileSync(pagePath('docs/test-cards.md'), 'utf8');
  for (const number of testCards.keys()) assert.ok(cards.includes(`\`${number}\``), number);
  const money = readFileSync(pagePath('docs/money.md'), 'utf8');
  for (const code of currencyCodes) assert.ok(money.includes(`\`${code}\``), code);
  const errors = readFileSync(pagePath('docs/errors.md'), 'utf8');
  for (const code of errorCodes) assert.ok(errors.includes(`| \`${code}\` |`), code);
});

test('a block out of date is found', () => {
  const block = generatedBlocks['test-cards']!;
  const text = readFileSync(pagePath(block.file), 'utf8');
  const stale = text.replace('`4242424242424242`', '`4242424242424243`');
  assert.notEqual(stale, replaceBlock(stale, 'test-cards', block.render()));
  assert.throws(() => replaceBlock('no markers here', 'test-cards', ''), /markers/);
});

test('the README links every concept page, and their relative links resolve', () => {
  const readme = readFileSync(pagePath('README.md'), 'utf8');
  for (const page of conceptPages) {
    assert.ok(readme.includes(`](${page})`), `README links ${page}`);
    const text = readFileSync(pagePath(page), 'utf8');
    for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      const resolved = path.resolve(path.dirname(pagePath(page)), target!);
      assert.ok(existsSync(resolved), `${page} links ${target}, which does not exist`);
    }
  }
});

test("the README's architecture diagram names every module under src/modules", () => {
  const readme = readFileSync(pagePath('README.md'), 'utf8');
  const architecture = readme.slice(readme.indexOf('## Architecture'));
  const diagram = /```mermaid\n([\s\S]*?)```/.exec(architecture)?.[1];
  assert.ok(diagram !== undefined, 'a mermaid block in the Architecture section');
  const modules = readdirSync(pagePath('src/modules'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name);
  assert.ok(modules.length >= 10);
  for (const module of modules) assert.match(diagram, new RegExp(`\\b${module}\\b`), module);
});
