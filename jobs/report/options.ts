/**
 * Options of the `report` kind: a trusted SQL query (with :placeholders for the run's dates and
 * params) → a CSV file named from a dated template in `outputDir`, recorded in `reports`.
 */
import { z } from 'zod';
import { connectionOption } from '../../engine/connections.ts';
import { sqlText } from '../sql/schemas.ts';
import { templateProblem } from './file-name.ts';

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const reportOptions = z
  .object({
    /** Trusted SQL; values only through :logical_date, :interval_start, :interval_end, :param_<name>… */
    query: sqlText.transform((q) => q.replace(/;\s*$/, '')),
    /** Folder of the report files, inside the data roots (created if missing). */
    outputDir: z.string().min(1),
    /** e.g. `Daily_Summary_{yyyymmdd}.csv`. */
    fileName: z.string().min(1).superRefine((t, ctx) => {
      const problem = templateProblem(t);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    /** Timezone of the logical date's calendar day in the file name. @default 'UTC' */
    timezone: z.string().refine(validTimeZone, 'unknown IANA timezone').default('UTC'),
    /** Write the column names as the first line. @default true */
    header: z.boolean().default(true),
    /** The CSV file's field separator: one character, not a quote or newline. @default ',' */
    delimiter: z.string().length(1).refine((d) => !/["\r\n]/.test(d), 'not a quote or newline').default(','),
    /** Rows kept as JSON in `reports.rows` for the dashboard API (the file has all rows). @default 10000 */
    keepRows: z.number().int().min(0).max(100_000).default(10_000),
    /**
     * A postgres connection (`TRIB_CONN_<NAME>`) the query runs on, in a transaction of its own; the
     * report's row is stored with the run. @default the database of record
     */
    connection: connectionOption('postgres').optional(),
  })
  .strict();

export type ReportOptions = z.infer<typeof reportOptions>;
