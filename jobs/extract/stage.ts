/**
 * Pages → the load job's staging table, one page at a time on the try's transaction: each record
 * cleaned, checked by the load job's compiled validator, valid ones COPYed with their ordinal as
 * the line (so the last copy of a key wins the merge), refused ones written to the audit table
 * with every failing column and one summary reason, applied coercions to the coercion audit.
 */
import type { TaskContext } from '../../engine/types.ts';
import { insertAuditRows, type AuditRow } from '../load/audit.ts';
import type { CoercionLog } from '../load/coercions.ts';
import { CopyWriter } from '../load/copy-writer.ts';
import type { LoadPlan } from '../load/plan.ts';
import { DUPLICATE, RowValidator, type ColumnError } from '../load/validator.ts';
import type { RecordCleaner } from './clean.ts';
import type { JsonRecord } from './pages.ts';

function reason(errors: ColumnError[]): string {
  if (errors.length === 1) return errors[0].message;
  return `${errors.length} columns failed: ${errors.map((e) => `${e.column} (${e.rule})`).join(', ')}`;
}

export class StagedRecords {
  read = 0;
  valid = 0;
  copied = 0;
  rejected = 0;
  /** Records dropped by a `unique: 'first'` column (key duplicates are dropped in the merge). */
  deduplicated = 0;
  private readonly validator: RowValidator;
  private readonly names: string[];

  constructor(
    private readonly ctx: TaskContext,
    private readonly plan: LoadPlan,
    private readonly cleaner: RecordCleaner,
    private readonly destination: { table: string; columns: string[] },
    private readonly coercions: CoercionLog | null,
  ) {
    this.names = plan.specs.map((c) => c.name);
    const identity = plan.specs.map((_, i) => i);
    this.validator = new RowValidator(plan.columns, identity, this.names, '', plan.staging, plan.dialect.delimiter);
  }

  /** Stages one page; `where` (the page URL) is the audit rows' `file`. */
  async add(records: JsonRecord[], where: string): Promise<void> {
    const lines: string[] = [];
    const rejects: AuditRow[] = [];
    for (const record of records) {
      const line = ++this.read;
      const fields = this.cleaner.fields(record);
      const out = this.validator.check(fields, line, null);
      if (typeof out === 'string') {
        this.valid++;
        this.cleaner.commit(line);
        lines.push(out);
      } else if (out === DUPLICATE) this.deduplicated++;
      else {
        this.rejected++;
        const errors = this.validator.errors;
        const cleaned = JSON.stringify(Object.fromEntries(this.names.map((n, i) => [n, fields[i]])));
        rejects.push({ line, raw: JSON.stringify(record), record: cleaned, errors: JSON.stringify(errors), reason: reason(errors) });
      }
    }
    if (lines.length > 0) await this.copy(lines);
    await insertAuditRows(this.ctx.client, this.plan.audit, {
      runId: this.ctx.runId, taskId: this.ctx.taskId, mapIndex: this.ctx.mapIndex, file: where,
    }, rejects);
    await this.coercions?.flush();
  }

  private async copy(lines: string[]): Promise<void> {
    const copy = CopyWriter.open(this.ctx.client, this.destination.table, this.destination.columns, this.plan.dialect);
    try {
      lines.push('');
      await copy.write(Buffer.from(lines.join('\n'), 'utf8'));
      this.copied += await copy.finish();
    } catch (err) {
      copy.abort(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
  }
}
