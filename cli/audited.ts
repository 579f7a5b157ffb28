/**
 * The CLI's side of the audit log (engine/audit-log.ts): an operator command records who ran it
 * (`cli:<os user>`), from which host, what on which target with which params (secrets masked), and
 * whether it succeeded — the error's code and message when not, before the error goes on to the
 * user. The dashboard records its own requests (dashboard/audit-trail.ts).
 */
import os from 'node:os';
import type pg from 'pg';
import { recordAudit } from '../engine/audit-log.ts';
import { describeError, TributaryError } from '../engine/errors.ts';
import type { Json } from '../engine/types.ts';

/** The audit actor of this process's commands, e.g. `cli:ana`; also the `triggered_by` of its runs. */
export function cliActor(): string {
  let user: string;
  try {
    user = os.userInfo().username;
  } catch {
    user = process.env.USER ?? 'unknown';
  }
  return `cli:${user}`;
}

export async function audited<T>(
  pool: pg.Pool,
  what: { action: string; target: string | null; params?: Json | null },
  fn: () => Promise<T>,
): Promise<T> {
  const base = { actor: cliActor(), via: 'cli' as const, address: os.hostname(), ...what };
  try {
    const result = await fn();
    await recordAudit(pool, { ...base, outcome: 'ok' });
    return result;
  } catch (err) {
    const detail = err instanceof TributaryError ? `${err.code}: ${err.message}` : describeError(err);
    await recordAudit(pool, { ...base, outcome: 'failed', detail }).catch(() => undefined);
    throw err;
  }
}
