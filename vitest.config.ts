import { defineConfig } from 'vitest/config';

export default defineConfig({
  // `import … from 'tributary'` in a test's project files is this checkout's source (package.json
  // exports), never a dist/ left by `npm pack`; the rest are Vite's default server conditions.
  ssr: { resolve: { conditions: ['tributary-source', 'module', 'node', 'development|production'] } },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: more parallel files only queue on the same CPUs and Postgres.
    maxWorkers: 2,
  },
});
