// Lint: typescript-eslint's type-aware recommended rules over everything we compile (src, tests, testbed, scripts).
// `npm run lint`; .ci/run runs it before `npm test`, so CI fails on a lint finding.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.stryker-tmp/', 'reports/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // A variable declared before the closures that read it and assigned after them cannot be const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // `const { dropped: _d, ...rest } = o` is how an object loses a key; the dropped name is not a mistake.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
      // node:test's describe/it/test return promises the runner itself tracks; awaiting them at top level would
      // serialise nothing and only add noise. Subtests (t.test) are not exempt: those must be awaited.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] },
          ],
        },
      ],
    },
  },
  {
    // Plain JavaScript (this file, scripts/demo.mjs) is not in a tsconfig: lint it without type information.
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
