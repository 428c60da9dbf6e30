import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { stateDiagramMermaid } from './payment-state.ts';

test('docs/payment-states.md shows the diagram generated from the transition table', () => {
  const document = readFileSync(new URL('../../../../docs/payment-states.md', import.meta.url), 'utf8');
  assert.ok(document.includes(stateDiagramMermaid()), 'regenerate the diagram with stateDiagramMermaid()');
});
