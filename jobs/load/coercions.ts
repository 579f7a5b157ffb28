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
   * Id and line of each row written since the last `dropUnloaded` (the current staging segment),
   * in line order: 16 bytes a row. The clean-up deletes by these ids, never by a join with the
   * audit table, whose statistics may claim it is empty (a vacuum that ran while a killed
   * attempt's rows filled it): a nested loop over it and the target ran > 9 min at 1M rows (issue 22).
   */
  private ids: number[] = [];
  private lines: number[] = [];

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
    for (const w of await insertCoercionRows(this.client, this.target, this.ctx, rows)) {
      this.ids.push(w.id);
      this.lines.push(w.line);
    }
  }

  /**
   * Staging modes, after last-wins duplicates left the staging table and before the insert: deletes
   * the rows (written since the last call) of lines that will not load. Returns how many were
   * removed, by `column.coercion`.
   */
  async dropUnloaded(plan: LoadPlan): Promise<Map<string, number>> {
    const removed = new Map<string, number>();
    const { ids, lines } = this;
    this.ids = []; // the next staging segment's rows start after these
    this.lines = [];
    if (ids.length === 0 || (plan.lastWins.length === 0 && !plan.insertNew)) return removed;
    const dropped = await this.linesNotLoaded(plan, lines.filter((l, i) => l !== lines[i - 1]));
    const gone = ids.filter((_, i) => dropped.has(lines[i]));
    if (gone.length === 0) return removed;
    const res = await this.client.query<{ column: string; coercion: string }>(
      `DELETE FROM ${this.target.sql} WHERE id = ANY($1::bigint[]) RETURNING "column", coercion`, [gone]);
    for (const r of res.rows) removed.set(`${r.column}.${r.coercion}`, (removed.get(`${r.column}.${r.coercion}`) ?? 0) + 1);
    return removed;
  }

  /**
   * Of `lines` (distinct), those the insert will not load: all but the staged ones that load (under
   * insert-new, those whose key the target lacks: one primary-key probe each, kept a probe by
   * OFFSET 0 as in modes.ts). EXCEPT is a set operation, never a nested loop: the statement reads
   * the staging table once and the target's key index per line, whatever the statistics say.
   */
  private async linesNotLoaded(plan: LoadPlan, lines: number[]): Promise<Set<number>> {
    const line = q(LINE_COLUMN);
    const key = plan.options.key.map(q);
    const keyFree = plan.insertNew
      ? ` AND NOT EXISTS (SELECT 1 FROM ${plan.targetSql} t WHERE ${key.map((k) => `t.${k} = s.${k}`).join(' AND ')} OFFSET 0)`
      : '';
    const res = await this.client.query<{ line: string }>(
      `SELECT u.line FROM unnest($1::bigint[]) AS u(line)
       EXCEPT SELECT s.${line} FROM pg_temp.${q(STAGING_TABLE)} s WHERE s.${line} = ANY($1::bigint[])${keyFree}`, [lines]);
    return new Set(res.rows.map((r) => Number(r.line)));
  }
}
