// The imports of payments/application run one way (operations → the runner and shared steps): this
// fails on any import circle among its files, type-only imports included, and names the circle.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const directory = import.meta.dirname;
const relativeImport = /^\s*(?:import|export)\b[^;]*?\bfrom\s+'(\.\/[^']+\.ts)'/gms;

/** Each source file of the folder and the files of the folder it imports. */
export function importGraph(folder: string): Map<string, string[]> {
  const files = readdirSync(folder).filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'));
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const source = readFileSync(path.join(folder, file), 'utf8');
    const targets = [...source.matchAll(relativeImport)].map((match) => path.basename(match[1]!));
    graph.set(
      file,
      targets.filter((target) => files.includes(target)),
    );
  }
  return graph;
}

/** Every circle found by a depth-first walk, as the list of files around it. */
export function circles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const target of graph.get(file) ?? []) {
      if (state.get(target) === 'open') found.push([...stack.slice(stack.indexOf(target)), target]);
      else if (!state.has(target)) visit(target);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return found;
}

test('the circle finder finds a circle and passes a one-way graph', () => {
  const circular = new Map([
    ['a.ts', ['b.ts']],
    ['b.ts', ['c.ts']],
    ['c.ts', ['a.ts']],
  ]);
  assert.deepEqual(circles(circular), [['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  const oneWay = new Map([
    ['a.ts', ['b.ts', 'c.ts']],
    ['b.ts', ['c.ts']],
    ['c.ts', []],
  ]);
  assert.deepEqual(circles(oneWay), []);
});

test('payments/application has no import circle', () => {
  const graph = importGraph(directory);
  assert.ok(graph.has('pipeline.ts') && graph.get('void-payment.ts')!.includes('pipeline.ts'));
  assert.deepEqual(
    circles(graph).map((circle) => circle.join(' → ')),
    [],
  );
});
