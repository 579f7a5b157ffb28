import fs from 'node:fs';
import path from 'node:path';
import { defineConfig } from 'vitest/config';
import LongFirst from './test/support/long-first.ts';

/**
 * The engine's suite runs a second time on Debian's PostgreSQL 15 (the embedded server is 18):
 * SQL planning and locking differ between versions. .ci/run installs it; without it the second
 * project is left out, with a line saying so. PG15_BIN points elsewhere.
 */
const pg15Bin = process.env.PG15_BIN ?? '/usr/lib/postgresql/15/bin';
const hasPg15 = fs.existsSync(path.join(pg15Bin, 'postgres'));
if (!hasPg15) process.stderr.write(`vitest: no PostgreSQL 15 at ${pg15Bin} (apt-get install postgresql-15, or set PG15_BIN): the engine suite runs on the embedded server only\n`);

/** Each project's own services (the root project, which runs no file, starts none). */
const globalSetup = ['test/support/global-setup.ts'];

export default defineConfig({
  // `import … from 'tributary'` in a test's project files is this checkout's source (package.json
  // exports), never a dist/ left by `npm pack`; the rest are Vite's default server conditions.
  ssr: { resolve: { conditions: ['tributary-source', 'module', 'node', 'development|production'] } },
  test: {
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: more parallel files only queue on the same CPUs and Postgres.
    maxWorkers: 2,
    // A worker process runs its files one after another with the modules it imported kept: each
    // file owns its database, queues and servers, and puts back any environment it changes
    // (vi.stubEnv / unstubAllEnvs); importing the engine afresh per file cost ~75 s of the suite.
    isolate: false,
    // The minute-long files start first (test/support/long-first.ts).
    sequence: { sequencer: LongFirst },
    projects: [
      { extends: true, test: { name: 'all', include: ['test/**/*.test.ts'], globalSetup } },
      // PG_BIN reaches the project's global setup (its server) and its tests (servers they start).
      ...(hasPg15 ? [{ extends: true as const, test: { name: 'engine-pg15', include: ['test/integration/engine/**/*.test.ts'], globalSetup, env: { PG_BIN: pg15Bin } } }] : []),
    ],
  },
});
