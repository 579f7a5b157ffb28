/**
 * Templates in paths, patterns and folders: `{yyyymmdd}`, `{yyyy-mm-dd}` (alias `{date}`), `{yyyy}`,
 * `{mm}`, `{dd}` from the logical date's UTC calendar day, and `{params.<name>}` from the run's
 * params (a string or number; a missing one, or one holding a control character such as a newline or
 * NUL, is an OPTIONS_INVALID error naming it: rendered text becomes paths, globs and patterns).
 */
import { TributaryError } from '../engine/errors.ts';
import type { Json } from '../engine/types.ts';

/** C0, DEL and C1 control characters (Unicode category Cc). */
const CONTROL = /\p{Cc}/u;
const KEYS = /\{(yyyymmdd|yyyy-mm-dd|date|yyyy|mm|dd|params\.[A-Za-z_][A-Za-z0-9_]*)\}/g;

export interface TemplateScope {
  logicalDate: Date;
  params?: Record<string, Json>;
}

export function renderTemplate(text: string, scope: TemplateScope): string {
  const date = scope.logicalDate;
  const yyyy = String(date.getUTCFullYear()).padStart(4, '0');
  const mm = String(date.getUTCMonth() + 1).padStart(2, '0');
  const dd = String(date.getUTCDate()).padStart(2, '0');
  const parts: Record<string, string> = {
    yyyymmdd: `${yyyy}${mm}${dd}`, 'yyyy-mm-dd': `${yyyy}-${mm}-${dd}`, date: `${yyyy}-${mm}-${dd}`, yyyy, mm, dd,
  };
  return text.replace(KEYS, (_, key: string) => {
    if (!key.startsWith('params.')) return parts[key];
    const name = key.slice('params.'.length);
    const value = scope.params?.[name];
    if (typeof value === 'number') return String(value);
    if (typeof value === 'string') return checked(text, name, value);
    throw new TributaryError('OPTIONS_INVALID', `"${text}" uses {${key}} but the run has no string or number param "${name}"`);
  });
}

function checked(text: string, name: string, value: string): string {
  const at = value.search(CONTROL);
  if (at < 0) return value;
  const char = `U+${value.charCodeAt(at).toString(16).toUpperCase().padStart(4, '0')}`;
  throw new TributaryError(
    'OPTIONS_INVALID',
    `param "${name}" holds control character ${char} at index ${at}, which "${text}" would put into a path or pattern; trigger the run with a value without it`,
  );
}
