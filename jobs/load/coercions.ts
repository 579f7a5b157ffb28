/**
 * The coercion audit of one file load: the validator's notes for accepted rows are buffered and
 * written in batches to `<target>_coercions` (line, column, coercion, value before and after). In
 * staging modes the merge can still drop a row (an earlier line of a key under last-wins, a key
 * already loaded under onConflict 'ignore'): `dropUnloaded` removes those lines' rows before it.
 */
import type pg from 'pg';
import { quoteIdent } from '../../db/identifiers.ts';
import { insertCoercionRows, type AuditContext, type AuditTarget, type CoercionRow } from './audit.ts';
import { LINE_COLUMN, STAGING_TABLE, type LoadPlan } from './plan.ts';
import { detach, type CoercionNote } from './validator.ts';

const q = (name: string) => quoteIdent(name, 'column');

export class CoercionLog {
  private rows: CoercionRow[] = [];
  /**
   * Smallest id written since the last `dropUnloaded` (the current staging segment): its rows are
   * `id >= firstId` with this load's run, task, map index and file.
   */
  private firstId: number | null = null;

  constructor(private readonly client: pg.PoolClient, private readonly target: AuditTarget, private readonly ctx: AuditContext) {}

  /** The validator's recorder: one row per coercion of an accepted row. */
  readonly record = (line: number, notes: CoercionNote[]): void => {
    for (const n of notes) this.rows.push({ line, column: n.column, coercion: n.coercion, value: detach(n.value), coerced: detach(n.coerced) });
  };

  get buffered(): number {
    return this.rows.length;
  }

  async flush(): Promise<void> {
    const rows = this.rows;
    this.rows = [];
    const first = await insertCoercionRows(this.client, this.target, this.ctx, rows);
    if (first !== null) this.firstId ??= first;
  }

  /**
   * Staging modes, after last-wins duplicates left the staging table and before the insert: deletes
   * the rows (written since the last call) of lines that will not load. Returns how many were
   * removed, by `column.coercion`.
   */
  async dropUnloaded(plan: LoadPlan): Promise<Map<string, number>> {
    const removed = new Map<string, number>();
    const firstId = this.firstId;
    this.firstId = null; // the next staging segment's rows start after these
    if (firstId === null || (plan.lastWins.length === 0 && !plan.insertNew)) return removed;
    const key = plan.options.key.map(q);
    const loadedBefore = plan.insertNew
      ? `UNION ALL SELECT st.id FROM staged st JOIN ${plan.targetSql} t ON ${key.map((k) => `t.${k} = st.${k}`).join(' AND ')}`
      : '';
    const res = await this.client.query<{ column: string; coercion: string }>(
      `WITH mine AS MATERIALIZED (
         SELECT id, line FROM ${this.target.sql}
          WHERE id >= $1 AND run_id = $2 AND task_id = $3 AND map_index = $4 AND file = $5),
       staged AS MATERIALIZED (
         SELECT m.id${key.map((k) => `, s.${k}`).join('')} FROM mine m JOIN pg_temp.${q(STAGING_TABLE)} s ON s.${q(LINE_COLUMN)} = m.line),
       dropped AS (
         SELECT m.id FROM mine m WHERE NOT EXISTS (SELECT 1 FROM staged st WHERE st.id = m.id)
         ${loadedBefore})
       DELETE FROM ${this.target.sql} c USING dropped d WHERE c.id = d.id RETURNING c."column", c.coercion`,
      [firstId, this.ctx.runId, this.ctx.taskId, this.ctx.mapIndex, this.ctx.file],
    );
    for (const r of res.rows) removed.set(`${r.column}.${r.coercion}`, (removed.get(`${r.column}.${r.coercion}`) ?? 0) + 1);
    return removed;
  }
}
