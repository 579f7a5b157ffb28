/**
 * The trigger form of a DAG, built from its zod params (z.toJSONSchema, input side): one field per
 * param — text, number, checkbox, a select for an enum, a JSON box for what has no simpler input —
 * with its type, default, description and whether it is required; then back, the posted form → the
 * params to trigger with. The engine's validateParams stays the judge: its message for each param
 * (`details.params`) is shown beside that param's field, with the values the user typed kept.
 */
import { z } from 'zod';
import type { CompiledDag, Json } from '../engine/types.ts';
import { TributaryError } from '../engine/errors.ts';
import { html, isSecretKey, redact, REDACTED, type Html } from './html.ts';

export type FieldKind = 'text' | 'number' | 'integer' | 'checkbox' | 'select' | 'json';

export interface ParamField {
  name: string;
  kind: FieldKind;
  required: boolean;
  description: string | null;
  /** The default (undefined: none). */
  default: Json | undefined;
  /** The choices of a select. */
  options: Json[];
  /** Declared `secret()` or a secret-looking name: a password field, its default never on the page (an empty field keeps it). */
  secret: boolean;
  /** A `secret({ env })`: read from this variable on the worker, no field (never given at trigger time). */
  env: string | null;
}

/** What the form posted: the date, each field's text as typed, and the raw JSON box. */
export interface TriggerForm { date: string; raw: string; values: Record<string, string> }

/** What the form shows after a refused submit: messages by param name, and the rest. */
export interface FormProblems { byParam: Record<string, string>; other: string[] }

interface JsonSchema { type?: string | string[]; enum?: Json[]; const?: Json; anyOf?: JsonSchema[]; description?: string }

const SCALARS = new Set(['string', 'number', 'integer', 'boolean']);

function choicesOf(js: JsonSchema): Json[] | null {
  if (js.enum) return js.enum;
  if (js.const !== undefined) return [js.const];
  if (js.anyOf?.length && js.anyOf.every((s) => s.const !== undefined)) return js.anyOf.map((s) => s.const as Json);
  return null;
}

function kindOf(js: JsonSchema): FieldKind {
  if (choicesOf(js)) return 'select';
  if (typeof js.type !== 'string' || !SCALARS.has(js.type)) return 'json';
  return js.type === 'string' ? 'text' : js.type === 'boolean' ? 'checkbox' : (js.type as 'number' | 'integer');
}

/** One field per declared param, in declaration order. */
export function paramFields(dag: Pick<CompiledDag, 'paramSchema' | 'secretParams'>): ParamField[] {
  return Object.entries(dag.paramSchema.shape).map(([name, schema]) => {
    const zod = schema as z.ZodType;
    const js = z.toJSONSchema(zod, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
    const empty = zod.safeParse(undefined);
    const declared = dag.secretParams.get(name);
    const secret = declared !== undefined || isSecretKey(name);
    const dflt = empty.success ? (empty.data as Json | undefined) : undefined;
    return {
      name,
      kind: kindOf(js),
      required: !empty.success,
      description: zod.description ?? js.description ?? null,
      // A secret's default stays on the server: the field says only that there is one.
      default: secret && dflt !== undefined ? REDACTED : dflt,
      options: choicesOf(js) ?? [],
      secret,
      env: declared?.env ?? null,
    };
  });
}

/** The posted body of the trigger form. */
export function readForm(body: Record<string, unknown>, fields: ParamField[]): TriggerForm {
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  return {
    date: str(body.date).trim(),
    raw: str(body.params),
    values: Object.fromEntries(fields.map((f) => [f.name, str(body[`param.${f.name}`])])),
  };
}

/** Params typed as JSON: an object; a key still showing the redaction mark keeps the DAG's default. */
export function rawParams(text: string): Record<string, Json> {
  let value: unknown;
  try {
    value = JSON.parse(text.trim() || '{}');
  } catch (err) {
    throw new TributaryError('ARGUMENT_INVALID', `params are not valid JSON: ${(err as Error).message}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new TributaryError('ARGUMENT_INVALID', 'params must be a JSON object, like {"key": "value"}');
  return Object.fromEntries(Object.entries(value as Record<string, Json>).filter(([, v]) => v !== REDACTED));
}

/**
 * The params a posted form asks for: the raw JSON box when filled, else the fields — an empty
 * field is left out (the default applies), a number that does not read as one is passed as typed
 * (validateParams names the type), a JSON box that does not parse is a problem of its own.
 */
export function formToParams(fields: ParamField[], form: TriggerForm): { params: Record<string, Json>; problems: Record<string, string> } {
  if (form.raw.trim() !== '') return { params: rawParams(form.raw), problems: {} };
  const params: Record<string, Json> = {};
  const problems: Record<string, string> = {};
  for (const f of fields) {
    const typed = form.values[f.name] ?? '';
    if (f.kind === 'checkbox') {
      params[f.name] = typed === 'true';
      continue;
    }
    if (typed.trim() === '') continue;
    if (f.kind === 'text') params[f.name] = typed;
    else if (f.kind === 'number' || f.kind === 'integer') params[f.name] = Number.isFinite(Number(typed)) ? Number(typed) : typed;
    else if (f.kind === 'select') params[f.name] = f.options.find((o) => JSON.stringify(o) === typed) ?? typed;
    else {
      try {
        const value = JSON.parse(typed) as Json;
        // The shown (redacted) default left as it was keeps the real default.
        if (f.default === undefined || JSON.stringify(value) !== JSON.stringify(redact(f.default))) params[f.name] = value;
      } catch (err) {
        problems[f.name] = `not valid JSON: ${(err as Error).message}`;
      }
    }
  }
  return { params, problems };
}

/** The text a field shows: what the user typed after a refused submit, else the default (never a secret's). */
function shown(f: ParamField, form: TriggerForm | undefined): string {
  if (form) return form.values[f.name] ?? '';
  if (f.secret || f.default === undefined || f.default === null) return '';
  if (f.kind === 'text' || f.kind === 'number' || f.kind === 'integer') return String(f.default);
  if (f.kind === 'checkbox') return f.default === true ? 'true' : '';
  if (f.kind === 'select') return JSON.stringify(f.default);
  return JSON.stringify(redact(f.default), null, 2);
}

function input(f: ParamField, value: string, attrs: Html): Html {
  const name = `param.${f.name}`;
  const id = `param-${f.name}`;
  if (f.kind === 'checkbox') return html`<input id="${id}" name="${name}" type="checkbox" value="true"${value === 'true' ? html` checked` : ''}${attrs}>`;
  if (f.kind === 'select') {
    const none = f.required && f.default === undefined ? '— choose —' : '(none)';
    return html`<select id="${id}" name="${name}"${attrs}>${f.default === undefined ? html`<option value="">${none}</option>` : ''}${f.options.map((o) => {
      const v = JSON.stringify(o);
      return html`<option value="${v}"${v === value ? html` selected` : ''}>${typeof o === 'string' ? o : v}</option>`;
    })}</select>`;
  }
  if (f.kind === 'json') return html`<textarea id="${id}" name="${name}" rows="3"${attrs}>${value}</textarea>`;
  const type = f.secret ? 'password' : f.kind === 'text' ? 'text' : 'number';
  const step = f.kind === 'integer' ? html` step="1"` : f.kind === 'number' ? html` step="any"` : '';
  const placeholder = f.secret && f.default !== undefined ? html` placeholder="default kept" autocomplete="off"` : '';
  return html`<input id="${id}" name="${name}" type="${type}" value="${f.secret ? '' : value}"${step}${placeholder}${attrs}>`;
}

const TYPE_NAME: Record<FieldKind, string> = { text: 'text', number: 'number', integer: 'whole number', checkbox: 'yes / no', select: 'one of', json: 'JSON' };

function field(f: ParamField, value: string, problem: string | undefined, first: boolean): Html {
  const id = `param-${f.name}`;
  if (f.env) {
    return html`<div class="field" data-param="${f.name}"><label><code>${f.name}</code> <span class="type">secret</span></label>
<small class="muted">read from the environment variable <code>${f.env}</code> on the worker when a task runs; never given here, never stored${f.description ? ` · ${f.description}` : ''}</small>
${problem ? html`<span class="field-error" role="alert">${problem}</span>` : ''}</div>`;
  }
  const described = [f.description || f.default !== undefined ? `${id}-about` : '', problem ? `${id}-error` : ''].filter(Boolean).join(' ');
  const attrs = html`${described ? html` aria-describedby="${described}"` : ''}${f.required ? html` aria-required="true"` : ''}${problem ? html` aria-invalid="true"` : ''}${problem && first ? html` autofocus` : ''}`;
  const dflt = f.default === undefined ? '' : f.secret ? 'default: set (hidden)' : `default: ${typeof f.default === 'string' ? f.default : JSON.stringify(f.default)}`;
  return html`<div class="field${problem ? ' invalid' : ''}" data-param="${f.name}">
<label for="${id}"><code>${f.name}</code> <span class="type">${TYPE_NAME[f.kind]}</span>${f.required ? html` <span class="required">required</span>` : ''}</label>
${input(f, value, attrs)}
${problem ? html`<span class="field-error" id="${id}-error" role="alert">${problem}</span>` : ''}
${described.includes('-about') ? html`<small class="muted" id="${id}-about">${f.description ?? ''}${f.description && dflt ? ' · ' : ''}${dflt}</small>` : ''}
</div>`;
}

/** The fields of every param, the optional logical date and the raw JSON box (open when used). */
export function paramsFormBody(dag: Pick<CompiledDag, 'paramSchema' | 'secretParams'>, form?: TriggerForm, problems: FormProblems = { byParam: {}, other: [] }): Html {
  const fields = paramFields(dag);
  const firstBad = fields.find((f) => problems.byParam[f.name])?.name;
  const rawOpen = (form?.raw.trim() ?? '') !== '' || problems.other.length > 0;
  return html`<div class="field" data-param-date>
<label for="trigger-date">Logical date <span class="type">optional</span></label>
<input id="trigger-date" name="date" type="date" value="${form?.date ?? ''}" aria-describedby="trigger-date-about">
<small class="muted" id="trigger-date-about">empty: a new manual run now</small></div>
${fields.length === 0 ? html`<p class="muted">This DAG declares no params.</p>` : fields.map((f) => field(f, shown(f, form), problems.byParam[f.name], f.name === firstBad))}
<details class="raw-params"${rawOpen ? html` open` : ''}><summary>Raw JSON (instead of the fields)</summary>
<textarea name="params" rows="4" aria-label="params as JSON" placeholder="{&quot;name&quot;: &quot;value&quot;}">${form?.raw ?? ''}</textarea>
${problems.other.map((p) => html`<span class="field-error" role="alert">${p}</span>`)}</details>`;
}
