// ESLint flat config: typescript-eslint's recommended rules everywhere, plus the rule that keeps
// workflow code (interpreters/, src/ir/) deterministic and bundleable: value imports only from
// workflow-safe modules; anything else as `import type`; no Node built-ins at all.
import { builtinModules } from 'node:module';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** Modules workflow code may import values from. */
const WORKFLOW_SAFE = ['@temporalio/workflow', '@temporalio/common', '@bufbuild/cel'];

const escapeRegex = (text) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const exactly = (names) => names.map(escapeRegex).join('|');

/** Node built-ins, with or without `node:`, and their subpaths (`fs/promises`). */
const NODE_BUILTINS = `(?:node:|(?:${exactly(builtinModules)})(?:/|$))`;

/**
 * `no-restricted-imports` options for workflow code whose allowed relative imports match `relative`.
 * A value import of anything else is an error; `import type` of it is fine (erased at build).
 */
function workflowImports(relative) {
  return [
    'error',
    {
      patterns: [
        {
          regex: `^(?!(?:${exactly(WORKFLOW_SAFE)})$)(?!${relative})(?!${NODE_BUILTINS})`,
          allowTypeImports: true,
          message: `workflow code imports values only from ${WORKFLOW_SAFE.join(', ')} and src/ir; use \`import type\` for anything else.`,
        },
        {
          regex: `^${NODE_BUILTINS}`,
          message: 'workflow code must not import Node built-ins (not even as types): it runs in the deterministic workflow sandbox.',
        },
      ],
    },
  ];
}

export default defineConfig(
  {
    ignores: [
      '**/node_modules/**',
      '.tools/**',
      '.maestro/**',
      '**/dist/**',
      'lib/**',
      'coverage/**',
      'bench/results/**',
      'test/.artifacts/**',
    ],
  },
  tseslint.configs.recommended,
  {
    // src/ir is flat: its files import each other as `./x.js`.
    files: ['src/ir/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': workflowImports('\\./') },
  },
  {
    // The interpreter imports its siblings and src/ir.
    files: ['interpreters/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': workflowImports('\\./|\\.\\./src/ir/') },
  },
  {
    // The seed's contract tests, verbatim: its `any` and its `require('yaml')` stay as it wrote them.
    files: ['tests/contract/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-require-imports': 'off' },
  },
);
