import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.tributary/**', 'db/migrations/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // Entry points and tools talk to people on stdout; everything else logs through pino.
    files: ['cli/**', 'bench/**', 'bin/**', 'test/**', 'samples/**', 'dashboard/**', 'workers/**'],
    rules: { 'no-console': 'off' },
  },
);
