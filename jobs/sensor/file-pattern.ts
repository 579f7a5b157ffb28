/**
 * File-name patterns people write, e.g. `{table}_{yyyymmdd}.csv` or `*.csv`: the date and
 * `{params.x}` placeholders are rendered, `{name}` captures a part of the name (restricted to
 * `values[name]` when given), `*` is any run of characters and `?` one character; anchored.
 */
import { TributaryError } from '../../engine/errors.ts';
import { renderTemplate, type TemplateScope } from '../templates.ts';

const TOKEN = /\{([^{}]*)\}|\*|\?/g;
const DATE_KEYS = new Set(['yyyymmdd', 'yyyy-mm-dd', 'date', 'yyyy', 'mm', 'dd']);
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** What a `{name}` matches without a list of values: a name part not starting with a dot. */
const ANY_PART = '[A-Za-z0-9][^/]*?';

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export interface CompiledFilePattern {
  regex: RegExp;
  /** The pattern as people read it: dates and params rendered, `{name}` parts kept. */
  display: string;
}

/**
 * Compiles `text` for the run in `scope`. A param's value may itself hold placeholders (a run param
 * `filePattern: "{table}.csv"`), so the text is rendered first, then its remaining parts compiled.
 */
export function compileFilePattern(
  text: string,
  scope: TemplateScope,
  values: Readonly<Record<string, readonly string[]>> = {},
): CompiledFilePattern {
  const rendered = renderTemplate(text, scope);
  const names = new Set<string>();
  let source = '';
  let display = '';
  let last = 0;
  for (const match of rendered.matchAll(TOKEN)) {
    const literal = rendered.slice(last, match.index);
    source += escape(literal);
    display += literal;
    last = match.index + match[0].length;
    const key = match[1];
    if (key === undefined) {
      source += match[0] === '*' ? '[^/]*' : '[^/]';
      display += match[0];
    } else if (DATE_KEYS.has(key) || key.startsWith('params.')) {
      const value = renderTemplate(`{${key}}`, scope);
      source += escape(value);
      display += value;
    } else {
      if (!NAME.test(key)) throw invalid(text, `{${key}} is not a placeholder (a name of letters, digits and _)`);
      if (names.has(key)) throw invalid(text, `{${key}} appears twice`);
      names.add(key);
      const allowed = values[key];
      source += `(?<${key}>${allowed ? allowed.map(escape).join('|') : ANY_PART})`;
      display += `{${key}}`;
    }
  }
  source += escape(rendered.slice(last));
  display += rendered.slice(last);
  if (display.includes('/')) throw invalid(text, 'a file pattern names files in one folder (no "/")');
  return { regex: new RegExp(`^${source}$`), display };
}

function invalid(text: string, why: string): TributaryError {
  return new TributaryError('OPTIONS_INVALID', `file pattern "${text}": ${why}`);
}
