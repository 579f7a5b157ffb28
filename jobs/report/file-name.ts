/**
 * Report file names from a template and the run: `{yyyymmdd}`, `{yyyy-mm-dd}`, `{yyyy}`, `{mm}`,
 * `{dd}` (the logical date's calendar day in the given IANA timezone), `{dag_id}`, `{task_id}`.
 * The result must be a plain file name: no separators, no leading dot.
 */
import { TributaryError } from '../../engine/errors.ts';

export const FILE_NAME_TOKENS = ['yyyymmdd', 'yyyy-mm-dd', 'yyyy', 'mm', 'dd', 'dag_id', 'task_id'] as const;
const TOKEN = /\{([^{}]*)\}/g;

/** Why a template is unusable, or null when it is fine (used by the options schema). */
export function templateProblem(template: string): string | null {
  for (const m of template.matchAll(TOKEN)) {
    if (!(FILE_NAME_TOKENS as readonly string[]).includes(m[1])) {
      return `unknown token {${m[1]}} (known: ${FILE_NAME_TOKENS.map((t) => `{${t}}`).join(', ')})`;
    }
  }
  const bare = template.replace(TOKEN, 'x');
  if (/[{}]/.test(bare)) return 'unbalanced { }';
  if (/[/\\\0]/.test(bare) || bare.startsWith('.')) return 'must be a plain file name (no / or \\, not starting with .)';
  return null;
}

/** The calendar day of `date` in `timeZone`: { yyyy, mm, dd }. */
export function calendarDay(date: Date, timeZone: string): { yyyy: string; mm: string; dd: string } {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(date);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return { yyyy: get('year'), mm: get('month'), dd: get('day') };
}

export function renderFileName(
  template: string,
  run: { logicalDate: Date; dagId: string; taskId: string },
  timeZone: string,
): string {
  const problem = templateProblem(template);
  if (problem) throw new TributaryError('OPTIONS_INVALID', `report file name "${template}": ${problem}`);
  const { yyyy, mm, dd } = calendarDay(run.logicalDate, timeZone);
  const values: Record<string, string> = {
    yyyymmdd: `${yyyy}${mm}${dd}`,
    'yyyy-mm-dd': `${yyyy}-${mm}-${dd}`,
    yyyy,
    mm,
    dd,
    dag_id: run.dagId,
    task_id: run.taskId,
  };
  const name = template.replace(TOKEN, (_, token: string) => values[token]);
  if (/[/\\\0]/.test(name) || name.startsWith('.')) {
    throw new TributaryError('OPTIONS_INVALID', `report file name "${name}" (from "${template}") is not a plain file name`);
  }
  return name;
}
