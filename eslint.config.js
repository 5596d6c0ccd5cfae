// ESLint flat config. src/ and cli/ get typescript-eslint's strict type-checked rules; test/ the
// same with the few rules that fight node:test and JSON bodies turned off; bench/ (outside the
// tsconfig, its peers install separately) the strict rules that need no type information.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const typed = { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } };

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', 'bench/node_modules/'] },
  js.configs.recommended,
  {
    files: ['src/**/*.ts', 'cli/**/*.ts', 'test/**/*.ts'],
    extends: [tseslint.configs.strictTypeChecked],
    languageOptions: typed,
    rules: {
      // Every `!` is a claim the compiler cannot check; a real check or a better type states it instead.
      '@typescript-eslint/no-non-null-assertion': 'error',
      // Messages name counts, sizes, statuses and seconds; numbers print the same everywhere.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // Fastify hooks, handlers and plugins are async by contract (a returned value becomes the reply),
      // so an async function without an await is the documented shape, not a mistake.
      '@typescript-eslint/require-await': 'off',
      // node:test's test()/describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
      ],
      // `() => void call()` reads as what it is; the rule would only add braces.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Responses of app.inject are read as `any` JSON (res.json()); typing each one again would
      // repeat the route schemas the tests exist to check.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // A test asserts a value exists, then reads it; a wrong `!` fails the test with a TypeError,
      // which is the failure wanted. Production code (src/, cli/) allows none.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Tests guard values the types already promise (an `?.` before an assertion reads better than a crash).
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // Tests drive openid-client and Playwright through the deprecated switches they need
      // (skipStateCheck, allowInsecureRequests against a loopback http IdP, waitForNavigation).
      '@typescript-eslint/no-deprecated': 'off',
      // count(*) is typed number but some drivers hand bigints over as strings: Number() is on purpose.
      '@typescript-eslint/no-unnecessary-type-conversion': 'off',
    },
  },
  {
    files: ['bench/**/*.ts'],
    extends: [tseslint.configs.strict],
    // Measurement scripts index arrays they just filled; a `!` failing there fails the run, as wanted.
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^_' }],
      // Handles declared before the closure that releases them, assigned once they exist.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    files: ['**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
