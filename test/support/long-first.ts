/**
 * The order `npm test` starts its files in: the ones known to take a minute or so first (each
 * holds one of the two workers that long), then vitest's own order (its cache of last durations, or
 * the larger files first in a fresh clone). Without it a fresh clone started the two 60 s
 * Postgres-restart files at minute 13 and the suite ran into its 15-minute budget.
 */
import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Longest first (seconds in a fresh-clone CI run on 2 cores, 2026-12-07). */
const LONG = [
  'test/integration/cli/package.test.ts', // 140
  'test/reliability/pg-restart-postgres.test.ts', // 62
  'test/reliability/pg-restart.test.ts', // 55
  'test/reliability/multi-host.test.ts', // 52
  'test/integration/connections/inbox-kill.test.ts', // 45
  'test/integration/cli/cli.test.ts', // 44
  'test/integration/cli/dags-test.test.ts', // 39
  'test/integration/cli/dags-test-alone.test.ts', // 29
  'test/integration/cli/demo.test.ts', // 27
  'test/reliability/retry-after-kill.test.ts', // 24
  'test/integration/cli/trigger.test.ts', // 22
];

export default class LongFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification) => {
      const i = LONG.indexOf(path.relative(spec.project.config.root, spec.moduleId));
      return i < 0 ? LONG.length : i;
    };
    return sorted.map((spec, i) => ({ spec, i })).sort((a, b) => rank(a.spec) - rank(b.spec) || a.i - b.i).map((x) => x.spec);
  }
}
