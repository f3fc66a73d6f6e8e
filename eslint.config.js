// ESLint: typescript-eslint's recommended rules for the TypeScript, the
// browser globals for the dashboard's front end, and eslint-config-prettier
// so that formatting is Prettier's alone. `npm run lint` (part of npm test).
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');
const prettier = require('eslint-config-prettier');
const globals = require('globals');

module.exports = tseslint.config(
  { ignores: ['lib/gen/', 'dist/', 'node_modules/', 'data/', 'bench/results/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { globals: { ...globals.node } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Prettier wraps code at 160; what it cannot wrap (comments, long names) is checked here.
      'max-len': ['error', { code: 160, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Tests read JSON answers field by field; `any` there is the point.
    files: ['**/test/**', 'test/**', 'lib/testing/**', 'bench/**'],
    // Exact expected output (Ceph's tables) is clearer with its spaces as they are.
    rules: { '@typescript-eslint/no-explicit-any': 'off', 'no-regex-spaces': 'off', 'preserve-caught-error': 'off' },
  },
  {
    files: ['**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['modules/dashboard/frontend/**/*.js'],
    languageOptions: { globals: { ...globals.browser }, sourceType: 'module' },
  },
);
