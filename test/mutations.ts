/**
 * The mutation list `npm run test:mutations` (scripts/mutations.ts) checks: one-line breaks of key
 * lines, each with the tests that must fail when it is applied. `find` must occur exactly once in
 * `file` (the runner refuses the list otherwise, naming the entry), so an entry breaks loudly when
 * the code it names moves or changes. `find` and `replace` are each one line. The entries live in
 * test/mutations/, one file per area (engine SQL, engine TypeScript, files and loads, dashboard, the first hour, dashboard guards).
 */
import { CONNECTION_MUTATIONS } from './mutations/connections.ts';
import { DASHBOARD_MUTATIONS } from './mutations/dashboard.ts';
import { DASHBOARD_GUARD_MUTATIONS } from './mutations/dashboard-guards.ts';
import { DASHBOARD_USER_MUTATIONS } from './mutations/dashboard-users.ts';
import { ENGINE_SQL_MUTATIONS } from './mutations/engine-sql.ts';
import { ENGINE_MUTATIONS } from './mutations/engine.ts';
import { FILES_MUTATIONS } from './mutations/files.ts';
import { FIRST_HOUR_MUTATIONS } from './mutations/first-hour.ts';
import { TASK_LOG_MUTATIONS } from './mutations/task-log.ts';

export interface Mutation {
  /** Short, unique: what `--only` names. */
  id: string;
  /** Repository-relative path of the file to mutate. */
  file: string;
  /** Text occurring exactly once in `file`, on one line. */
  find: string;
  /** What `find` becomes (one line). */
  replace: string;
  /** Test files (`npx vitest run <tests>`) of which at least one must fail with the mutant in place. */
  tests: string[];
  /** The behaviour the mutated line guards, in a sentence. */
  guards: string;
}

/** Every entry, in the order the runner applies them (each part groups one area). */
export const MUTATIONS: Mutation[] = [...FILES_MUTATIONS, ...ENGINE_MUTATIONS, ...ENGINE_SQL_MUTATIONS, ...TASK_LOG_MUTATIONS, ...DASHBOARD_MUTATIONS, ...FIRST_HOUR_MUTATIONS, ...DASHBOARD_GUARD_MUTATIONS, ...DASHBOARD_USER_MUTATIONS, ...CONNECTION_MUTATIONS];
