/**
 * The audit log (table audit_events, db/schema/audit-events.ts): who did what, when, from where,
 * and how it ended. The dashboard records every state-changing request and every login attempt
 * (dashboard/audit-trail.ts); the CLI records its operator commands (cli/audited.ts). `recordAudit`
 * writes one row; `listAudit` reads newest first, filtered, by an id cursor.
 */
import type pg from 'pg';
import type { Json } from './types.ts';

export type AuditVia = 'ui' | 'api' | 'board' | 'cli';
export type AuditOutcome = 'ok' | 'refused' | 'failed';

export interface AuditEvent {
  actor: string;
  role?: string | null;
  via: AuditVia;
  action: string;
  target?: string | null;
  /** Already redacted by the caller (engine/secret-params.ts). */
  params?: Json | null;
  outcome: AuditOutcome;
  status?: number | null;
  address?: string | null;
  detail?: string | null;
}

export interface AuditRow extends Required<AuditEvent> {
  id: number;
  at: Date;
}

/** Longest text kept per column: an attacker's request must not grow the table without bound. */
const MAX_TEXT = 500;
const MAX_PARAMS = 16_384;
const clip = (text: string | null | undefined) => (text == null ? null : text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text);

export async function recordAudit(pool: pg.Pool | pg.PoolClient, event: AuditEvent): Promise<void> {
  const params = event.params == null ? null : JSON.stringify(event.params);
  await pool.query(
    `INSERT INTO audit_events (actor, role, via, action, target, params, outcome, status, address, detail)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10)`,
    [
      clip(event.actor), event.role ?? null, event.via, clip(event.action), clip(event.target),
      params !== null && params.length > MAX_PARAMS ? JSON.stringify({ truncated: `${params.length} characters` }) : params,
      event.outcome, event.status ?? null, clip(event.address), clip(event.detail),
    ],
  );
}

export interface AuditFilter {
  actor?: string;
  action?: string;
  /** Only rows with an id below this (the previous page's last id). */
  before?: number;
  limit: number;
}

export async function listAudit(pool: pg.Pool, filter: AuditFilter): Promise<AuditRow[]> {
  const { rows } = await pool.query<AuditRow & { id: string }>(
    `SELECT id, at, actor, role, via, action, target, params, outcome, status, address, detail FROM audit_events
     WHERE ($1::text IS NULL OR actor = $1) AND ($2::text IS NULL OR action = $2) AND ($3::bigint IS NULL OR id < $3)
     ORDER BY id DESC LIMIT $4`,
    [filter.actor ?? null, filter.action ?? null, filter.before ?? null, filter.limit],
  );
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}
