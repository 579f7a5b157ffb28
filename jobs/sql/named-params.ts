/**
 * Named placeholders in trusted SQL text (`:logical_date`, `:interval_start`, `:interval_end`,
 * `:run_id`, `:task_id`, `:dag_id`, `:param_<name>`, `:upstream_<task>` = an upstream task's result
 * as JSON text, e.g. `jsonb_array_elements(CAST(:upstream_load AS jsonb))`) → `$n` bound parameters. Values never enter
 * the SQL text; strings, quoted identifiers, comments, dollar quotes and `::` casts are skipped.
 */
import { TributaryError } from '../../engine/errors.ts';
import type { Json } from '../../engine/types.ts';

/** Gives the value of a named placeholder, or throws when the name is unknown. */
export type ParamResolver = (name: string) => unknown;

export const BUILTIN_PARAMS = ['logical_date', 'interval_start', 'interval_end', 'run_id', 'task_id', 'dag_id'] as const;

export interface ParamSource {
  logicalDate: Date;
  dataInterval: { start: Date; end: Date };
  params: Record<string, Json>;
  runId: string;
  taskId: string;
  dagId: string;
  /** Results of the task's upstream tasks, by task id. */
  upstream: Record<string, Json>;
}

function paramValue(value: Json): unknown {
  return value !== null && typeof value === 'object' ? JSON.stringify(value) : value;
}

/** Values for a real run. A `:param_x` the run does not have is an error, not a silent NULL. */
export function contextResolver(source: ParamSource): ParamResolver {
  return (name) => {
    switch (name) {
      case 'logical_date': return source.logicalDate;
      case 'interval_start': return source.dataInterval.start;
      case 'interval_end': return source.dataInterval.end;
      case 'run_id': return source.runId;
      case 'task_id': return source.taskId;
      case 'dag_id': return source.dagId;
    }
    if (name.startsWith('param_')) {
      const key = name.slice('param_'.length);
      if (!Object.hasOwn(source.params, key)) {
        throw new TributaryError('ARGUMENT_INVALID', `SQL uses :${name} but the run has no param "${key}"`);
      }
      return paramValue(source.params[key]);
    }
    if (name.startsWith('upstream_')) {
      const task = name.slice('upstream_'.length);
      if (!Object.hasOwn(source.upstream, task)) {
        throw new TributaryError('OPTIONS_INVALID', `SQL uses :${name} but "${task}" is not an upstream task of this one`);
      }
      return JSON.stringify(source.upstream[task]);
    }
    throw unknownName(name);
  };
}

/** Values for checking a statement before any run (EXPLAIN): typed stand-ins, params NULL. */
export function preflightResolver(): ParamResolver {
  const now = new Date();
  return (name) => {
    if (name === 'logical_date' || name === 'interval_start' || name === 'interval_end') return now;
    if (name === 'run_id' || name === 'task_id' || name === 'dag_id') return '';
    if (name.startsWith('param_') && name.length > 'param_'.length) return null;
    if (name.startsWith('upstream_') && name.length > 'upstream_'.length) return null;
    throw unknownName(name);
  };
}

function unknownName(name: string): TributaryError {
  return new TributaryError(
    'OPTIONS_INVALID',
    `unknown SQL placeholder :${name} (use :${BUILTIN_PARAMS.join(', :')}, :param_<name> or :upstream_<task>)`,
  );
}

/** The parameter list of one statement: positional values plus named ones bound once each. */
export class SqlParams {
  readonly values: unknown[] = [];
  private readonly named = new Map<string, string>();

  constructor(private readonly resolve: ParamResolver) {}

  /** Binds a value and returns its `$n`. */
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }

  /** Rewrites `:name` placeholders of trusted SQL text to `$n`; `label` names the text in errors. */
  sql(text: string, label: string): string {
    const rewritten = rewritePlaceholders(text, label, (name) => {
      let ref = this.named.get(name);
      if (ref === undefined) {
        ref = this.add(this.resolve(name));
        this.named.set(name, ref);
      }
      return ref;
    });
    // A trailing `-- comment` must not swallow what the caller appends after the fragment.
    return rewritten.includes('--') ? `${rewritten}\n` : rewritten;
  }
}

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_]/;

/** Scans SQL once, replacing placeholders via `replace`; everything else is copied verbatim. */
export function rewritePlaceholders(text: string, label: string, replace: (name: string) => string): string {
  let out = '';
  let i = 0;
  const n = text.length;
  const copyUntil = (end: number) => {
    out += text.slice(i, end);
    i = end;
  };
  while (i < n) {
    const ch = text[i];
    const next = text[i + 1];
    if (ch === "'") {
      const escapes = i > 0 && /[eE]/.test(text[i - 1]) && (i < 2 || !IDENT_PART.test(text[i - 2]));
      copyUntil(skipQuoted(text, i, "'", escapes, label));
    } else if (ch === '"') {
      copyUntil(skipQuoted(text, i, '"', false, label));
    } else if (ch === '-' && next === '-') {
      const end = text.indexOf('\n', i);
      copyUntil(end === -1 ? n : end);
    } else if (ch === '/' && next === '*') {
      copyUntil(skipBlockComment(text, i, label));
    } else if (ch === '$' && next !== undefined && /[0-9]/.test(next) && (i === 0 || !IDENT_PART.test(text[i - 1]))) {
      throw new TributaryError('OPTIONS_INVALID', `${label}: positional parameter $${next}… is not allowed; use a named :placeholder`);
    } else if (ch === '$' && (i === 0 || !IDENT_PART.test(text[i - 1]))) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i));
      if (tag) {
        const end = text.indexOf(tag[0], i + tag[0].length);
        if (end === -1) throw new TributaryError('OPTIONS_INVALID', `${label}: unterminated dollar-quoted string`);
        copyUntil(end + tag[0].length);
      } else {
        copyUntil(i + 1);
      }
    } else if (ch === ':' && next === ':') {
      copyUntil(i + 2);
    } else if (ch === ':' && next !== undefined && IDENT_START.test(next) && (i === 0 || !IDENT_PART.test(text[i - 1]))) {
      let end = i + 1;
      while (end < n && IDENT_PART.test(text[end])) end += 1;
      out += replace(text.slice(i + 1, end));
      i = end;
    } else {
      copyUntil(i + 1);
    }
  }
  return out;
}

function skipQuoted(text: string, start: number, quote: string, backslashEscapes: boolean, label: string): number {
  let i = start + 1;
  while (i < text.length) {
    const ch = text[i];
    if (backslashEscapes && ch === '\\') i += 2;
    else if (ch === quote && text[i + 1] === quote) i += 2;
    else if (ch === quote) return i + 1;
    else i += 1;
  }
  throw new TributaryError('OPTIONS_INVALID', `${label}: unterminated ${quote === "'" ? 'string' : 'quoted identifier'}`);
}

function skipBlockComment(text: string, start: number, label: string): number {
  let depth = 0;
  let i = start;
  while (i < text.length) {
    if (text[i] === '/' && text[i + 1] === '*') {
      depth += 1;
      i += 2;
    } else if (text[i] === '*' && text[i + 1] === '/') {
      depth -= 1;
      i += 2;
      if (depth === 0) return i;
    } else {
      i += 1;
    }
  }
  throw new TributaryError('OPTIONS_INVALID', `${label}: unterminated /* comment`);
}
