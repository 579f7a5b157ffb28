/** Mutation list, part: the dashboard as a shared service (issue 19) — request guards and sessions. See test/mutations.ts. */
import type { Mutation } from '../mutations.ts';

const GUARD_TEST = 'test/integration/dashboard/request-guard.test.ts';
const SESSIONS_TEST = 'test/integration/dashboard/sessions.test.ts';

export const DASHBOARD_GUARD_MUTATIONS: Mutation[] = [
  {
    id: 'origin-foreign-refused',
    file: 'dashboard/request-guard.ts',
    find: "if (!foreignOrigin && site !== 'cross-site' && site !== 'same-site') return next();",
    replace: "if (site !== 'cross-site') return next();",
    tests: [GUARD_TEST],
    guards: 'a state change from another origin (another port of the same host included) or a same-site page is refused',
  },
  {
    id: 'host-allowlist',
    file: 'dashboard/request-guard.ts',
    find: 'if (allowed.has(name)) return next();',
    replace: 'return next();',
    tests: [GUARD_TEST],
    guards: 'a Host outside DASHBOARD_ALLOWED_HOSTS (DNS rebinding) is refused before auth',
  },
  {
    id: 'session-live-check',
    file: 'dashboard/sessions.ts',
    find: '`s.revoked_at IS NULL AND s.idle_expires_at > now() AND s.expires_at > now() AND',
    replace: '`s.expires_at > now() AND',
    tests: [SESSIONS_TEST],
    guards: 'a revoked (logged-out) or idle-expired session no longer authenticates',
  },
  {
    id: 'session-csrf-header',
    file: 'dashboard/auth.ts',
    find: "if (sent !== undefined && sameSecret(sent, res.locals.csrf)) return next();",
    replace: 'if (sent !== undefined) return next();',
    tests: [SESSIONS_TEST],
    guards: "a state change must carry its own session's CSRF token, not any token",
  },
];
