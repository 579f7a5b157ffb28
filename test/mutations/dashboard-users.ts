/** Mutation list, part: named users, roles and the audit log (issue 19 items 4 and 5). See test/mutations.ts. */
import type { Mutation } from '../mutations.ts';

const USERS_TEST = 'test/integration/dashboard/users-audit.test.ts';
const SECRETS_TEST = 'test/integration/dashboard/secret-params.test.ts';
const SECRETS_UNIT = 'test/unit/engine/secret-params.test.ts';

export const DASHBOARD_USER_MUTATIONS: Mutation[] = [
  {
    id: 'role-viewer-reads-only',
    file: 'dashboard/roles.ts',
    find: "  if (READS.has(method) || SELF_SERVICE.has(path)) return 'viewer';",
    replace: "  if (method !== 'none') return 'viewer';",
    tests: [USERS_TEST],
    guards: 'a viewer cannot trigger, pause, backfill or write to bull-board',
  },
  {
    id: 'board-read-only-for-viewers',
    file: 'dashboard/server.ts',
    find: "res.locals.principal?.role === 'viewer' ? boards.read : boards.write",
    replace: 'boards.write',
    tests: [USERS_TEST],
    guards: "a viewer's bull-board is in read-only mode",
  },
  {
    id: 'token-revoked',
    file: 'dashboard/users.ts',
    find: 'WHERE t.id = $1 AND t.revoked_at IS NULL',
    replace: 'WHERE t.id = $1',
    tests: [USERS_TEST],
    guards: 'a revoked API token no longer authenticates',
  },
  {
    id: 'password-ends-sessions',
    file: 'dashboard/users.ts',
    find: "const { rowCount } = await client.query('UPDATE dashboard_sessions SET revoked_at = now() WHERE user_name = $1 AND revoked_at IS NULL', [name]);",
    replace: 'const rowCount = 1;',
    tests: [USERS_TEST],
    guards: "a new password ends the user's sessions",
  },
  {
    id: 'session-revoke-own-only',
    file: 'dashboard/sessions.ts',
    find: 'WHERE id_hash = $1 AND revoked_at IS NULL AND ($2 OR ${owned(\'$3\')})`,',
    replace: 'WHERE id_hash = $1 AND revoked_at IS NULL AND ($2 OR $3::text IS NULL OR true)`,',
    tests: [USERS_TEST],
    guards: "a user revokes only its own sessions (an admin anyone's)",
  },
  {
    id: 'audit-params-redacted',
    file: 'dashboard/audit-trail.ts',
    find: '      out[key] = redactParams(dag, value);',
    replace: '      out[key] = value;',
    tests: [USERS_TEST],
    guards: "the audit log never keeps a secret param's value",
  },
  {
    id: 'run-triggered-by',
    file: 'engine/runs.ts',
    find: 'if (rows[0].created && run.triggeredBy) {',
    replace: 'if (false) {',
    tests: [USERS_TEST],
    guards: 'a run records who triggered it',
  },
  {
    id: 'users-only-refuses-shared-token',
    file: 'dashboard/auth.ts',
    find: 'const sharedToken = usersOnly ? null : token;',
    replace: 'const sharedToken = token;',
    tests: [USERS_TEST],
    guards: 'DASHBOARD_AUTH=users accepts no shared token',
  },
  {
    id: 'cli-actions-audited',
    file: 'cli/audited.ts',
    find: "    await recordAudit(pool, { ...base, outcome: 'ok' });",
    replace: '',
    tests: [USERS_TEST],
    guards: 'CLI operator commands are in the audit log',
  },
  {
    id: 'secret-api',
    file: 'dashboard/api.ts',
    find: '({ ...run, params: redactParams(dags.get(run.dagId), run.params) })',
    replace: '({ ...run, params: redactParams(undefined, run.params) })',
    tests: [SECRETS_TEST],
    guards: "a param declared secret() is masked in every API answer, whatever its name",
  },
  {
    id: 'secret-run-page',
    file: 'dashboard/pages/run.ts',
    find: 'redactParams(dags.get(run.dagId), run.params)',
    replace: 'redactParams(undefined, run.params)',
    tests: [SECRETS_TEST],
    guards: 'a param declared secret() is masked on the run page',
  },
  {
    id: 'secret-log',
    file: 'engine/logger.ts',
    find: 'if (collector && collector.hidden.length > 0) {',
    replace: 'if (collector && collector.hidden.length < 0) {',
    tests: [SECRETS_UNIT, SECRETS_TEST],
    guards: "a secret param's value never reaches a task's log lines",
  },
  {
    id: 'secret-env-refused',
    file: 'engine/params.ts',
    find: 'if (fromEnv.size > 0) {',
    replace: 'if (fromEnv.size < 0) {',
    tests: [SECRETS_UNIT, SECRETS_TEST],
    guards: 'a value for a secret({ env }) param is refused at trigger time (it would be stored with the run)',
  },
];
