// Lint: typescript-eslint's recommended rules plus PayFlow's one structural rule: a module is entered
// only through its index.ts (src/modules/<name>/index.ts), never through its internals.
import path from 'node:path';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const modulesRoot = path.resolve('src/modules');

function moduleOf(file) {
  const relative = path.relative(modulesRoot, file);
  if (relative.startsWith('..') || path.isAbsolute(relative)) return undefined;
  return relative.split(path.sep)[0];
}

const moduleBoundaries = {
  meta: {
    type: 'problem',
    messages: {
      internal: 'Import module "{{target}}" through src/modules/{{target}}/index.ts, not {{source}}.',
    },
    schema: [],
  },
  create(context) {
    const importer = context.filename;
    const importerModule = moduleOf(importer);
    const check = (node) => {
      const source = node.source?.value;
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const resolved = path.resolve(path.dirname(importer), source);
      const target = moduleOf(resolved);
      if (target === undefined || target === importerModule) return;
      if (resolved === path.join(modulesRoot, target, 'index.ts')) return;
      context.report({ node, messageId: 'internal', data: { target, source } });
    };
    return {
      ImportDeclaration: check,
      ExportNamedDeclaration: check,
      ExportAllDeclaration: check,
      ImportExpression: check,
    };
  },
};

export default tseslint.config(
  { ignores: ['node_modules/', '.payflow/', '.payflow-test/', 'web/dist/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { payflow: { rules: { 'module-boundaries': moduleBoundaries } } },
    rules: {
      'payflow/module-boundaries': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/test/**'], message: 'Production code never imports tests.' }] },
      ],
    },
  },
  {
    files: ['**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
