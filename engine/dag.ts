/**
 * The DAG model: `defineDag` for DAG files, `compileDag` (raw spec → validated CompiledDag with
 * defaults, parsed task options, downstream edges and a topological order) and `loadDags` (a folder
 * of `*.ts` DAG files). Every problem is one DAG_INVALID error line naming the file.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { TributaryError } from './errors.ts';
import { compileParams, paramRefs } from './params.ts';
import { callbacksSchema, compileDeadline, deadlineSchema } from './callbacks.ts';
import { cronError, parseDay, startOfDay, timezoneError } from './schedule.ts';
import { RUN_FAILS_ON, TRIGGER_RULES, type CompiledDag, type CompiledTask, type DagSpec, type JobKind } from './types.ts';
import { allowTypeScript } from './typescript.ts';
import { dagVersion } from './dag-version.ts';

const ID_PATTERN = /^[a-z][a-z0-9_]*$/;
const MAX_PRIORITY = 2_097_152; // BullMQ's highest priority value (2^21)

const taskSchema = z
  .object({
    kind: z.string().min(1),
    options: z.unknown().optional(),
    upstream: z.array(z.string()).default([]),
    triggerRule: z.enum(TRIGGER_RULES).default('all_success'),
    retries: z.number().int().min(0).default(0),
    retryDelayMs: z.number().int().min(0).default(1000),
    maxRetryDelayMs: z.number().int().min(0).default(300_000),
    timeoutMs: z.number().int().positive().default(3_600_000),
    priority: z.number().int().min(1).max(MAX_PRIORITY).optional(),
    mapOver: z.object({ task: z.string(), path: z.string().min(1).optional() }).strict().optional(),
    onFailure: callbacksSchema,
    onSuccess: callbacksSchema,
    onRetry: callbacksSchema,
  })
  .strict();

/** A DAG definition's raw shape (also the source of docs/reference/dag.md). */
export const dagSchema = z
  .object({
    id: z.string().regex(ID_PATTERN, `must match ${ID_PATTERN.source}`),
    description: z.string().default(''),
    schedule: z.object({ cron: z.string(), timezone: z.string().default('UTC') }).strict().optional(),
    catchup: z.boolean().default(false),
    maxActiveRuns: z.number().int().min(1).default(1),
    pausedAtCreation: z.boolean().optional(),
    runFailsOn: z.enum(RUN_FAILS_ON).default('leaves'),
    startDate: z.string().optional(),
    params: z.record(z.string(), z.unknown()).default({}),
    optionDefaults: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
    dataRoots: z
      .array(z.string().min(1).refine((root) => !/[{}]/.test(root), 'a data root is a literal folder (no {templates}: run params never widen the roots)'))
      .default([]),
    tasks: z.record(z.string(), taskSchema).refine((t) => Object.keys(t).length > 0, 'must define at least one task'),
    onFailure: callbacksSchema,
    onSuccess: callbacksSchema,
    onRetry: callbacksSchema,
    deadline: deadlineSchema.optional(),
    onDeadlineMissed: callbacksSchema,
  })
  .strict();

type ParsedDag = z.infer<typeof dagSchema>;

/**
 * Typed identity for DAG files: `export default defineDag({ … })`. Infers each task's kind, so its
 * `options` are checked against that kind's type (engine/kind-options.ts) in the editor.
 */
export function defineDag<const Kinds extends Record<string, string>, Defaulted extends string = never>(spec: DagSpec<Kinds, Defaulted>): DagSpec {
  return spec as DagSpec;
}

/** `a.b[0].c` from a zod issue path; `(root)` when empty. */
export function formatIssuePath(issuePath: readonly PropertyKey[]): string {
  const text = issuePath
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`))
    .join('');
  return text || '(root)';
}

function describeIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): string {
  return error.issues.map((issue) => `${formatIssuePath([...prefix, ...issue.path])}: ${issue.message}`).join('; ');
}

/** `source`: the DAG file's text, part of the version (importDag passes it). */
export function compileDag(spec: unknown, file: string, kinds: ReadonlyMap<string, JobKind>, source?: string): CompiledDag {
  const rawId = (spec as { id?: unknown } | null)?.id;
  const where = typeof rawId === 'string' ? `${file}: dag "${rawId}"` : file;
  const fail = (what: string): never => {
    throw new TributaryError('DAG_INVALID', `${where}: ${what}`);
  };
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    return fail(`expected a DAG definition object (export default defineDag({…})), got ${describeValue(spec)}`);
  }
  const parsed = dagSchema.safeParse(spec);
  if (!parsed.success) {
    throw new TributaryError('DAG_INVALID', parsed.error.issues.map((issue) => `${where}: ${formatIssuePath(issue.path)}: ${issue.message}`).join('\n'));
  }
  const dag = parsed.data;

  // Every problem of the file, one line each: independent checks go on after one fails.
  const problems: string[] = [];
  const collect: Collect = (check) => {
    try {
      return check();
    } catch (err) {
      if (!(err instanceof TributaryError) || err.code !== 'DAG_INVALID') throw err;
      problems.push(err.message);
      return undefined;
    }
  };
  const params = collect(() => compileParams(dag.params, dag.schedule !== undefined, fail));
  const tasks = compileTasks(dag, kinds, params && Object.keys(params.schema.shape), fail, collect);
  const order = problems.length === 0 ? collect(() => topologicalOrder(tasks, fail)) : undefined;
  const schedule = dag.schedule && collect(() => compileSchedule(dag.schedule!, fail));
  const startDate = dag.startDate === undefined ? undefined : collect(() => compileStartDate(dag.startDate!, schedule?.timezone, fail));
  if (problems.length > 0 || !params || !order) throw new TributaryError('DAG_INVALID', problems.join('\n'));
  const compiled: Omit<CompiledDag, 'version'> = {
    id: dag.id,
    description: dag.description,
    file,
    ...(schedule && { schedule }),
    catchup: dag.catchup,
    maxActiveRuns: dag.maxActiveRuns,
    ...(dag.pausedAtCreation !== undefined && { pausedAtCreation: dag.pausedAtCreation }),
    runFailsOn: dag.runFailsOn,
    ...(startDate && { startDate }),
    params: params.defaults,
    paramSchema: params.schema,
    secretParams: params.secrets,
    dataRoots: dag.dataRoots.map((root) => path.resolve(root)),
    tasks,
    order,
    callbacks: { onFailure: dag.onFailure, onSuccess: dag.onSuccess, onRetry: dag.onRetry },
    ...(dag.deadline && { deadline: compileDeadline(dag.deadline, schedule?.timezone, dag.onDeadlineMissed) }),
  };
  return { ...compiled, version: dagVersion(compiled, kinds, source) };
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** Runs one check; a DAG_INVALID it throws is noted (undefined returned), anything else thrown on. */
type Collect = <T>(check: () => T) => T | undefined;

/** Each task compiled on its own: a bad one is noted by `collect` and left out, the others go on. */
function compileTasks(
  dag: ParsedDag,
  kinds: ReadonlyMap<string, JobKind>,
  declaredParams: readonly string[] | undefined,
  fail: (what: string) => never,
  collect: Collect,
): Map<string, CompiledTask> {
  const ids = Object.keys(dag.tasks);
  const tasks = new Map<string, CompiledTask>();
  for (const kind of Object.keys(dag.optionDefaults)) {
    if (!kinds.has(kind)) collect(() => fail(`optionDefaults: unknown job kind "${kind}" (known: ${[...kinds.keys()].sort().join(', ') || 'none'})`));
  }
  for (const id of ids) collect(() => {
    const raw = dag.tasks[id];
    const at = `task "${id}"`;
    if (!ID_PATTERN.test(id)) fail(`${at}: task id must match ${ID_PATTERN.source}`);
    const kind = kinds.get(raw.kind);
    if (!kind) fail(`${at}: unknown job kind "${raw.kind}" (known: ${[...kinds.keys()].sort().join(', ') || 'none'})`);
    const seen = new Set<string>();
    for (const up of raw.upstream) {
      if (up === id) fail(`${at}: lists itself as upstream`);
      if (!(up in dag.tasks)) fail(`${at}: unknown upstream "${up}"`);
      if (seen.has(up)) fail(`${at}: lists upstream "${up}" twice`);
      seen.add(up);
    }
    if (raw.mapOver && !seen.has(raw.mapOver.task)) {
      fail(`${at}: mapOver.task "${raw.mapOver.task}" must be one of its upstream tasks`);
    }
    const rawOptions = withDefaults(dag.optionDefaults[raw.kind], raw.options);
    for (const [name, text] of declaredParams ? paramRefs(rawOptions) : []) { // params broken: noted already
      if (!declaredParams?.includes(name)) fail(`${at}: ${text} is not a declared param (declared: ${declaredParams?.join(', ') || 'none'})`);
    }
    const options = kind!.options.safeParse(rawOptions);
    if (!options.success) fail(`${at} (kind "${raw.kind}"): invalid ${describeIssues(options.error, ['options'])}`);
    tasks.set(id, {
      id,
      kind: raw.kind,
      options: options.data,
      upstream: [...raw.upstream],
      downstream: [],
      triggerRule: raw.triggerRule,
      retries: raw.retries,
      retryDelayMs: raw.retryDelayMs,
      maxRetryDelayMs: raw.maxRetryDelayMs,
      timeoutMs: raw.timeoutMs,
      ...(raw.priority !== undefined && { priority: raw.priority }),
      ...(raw.mapOver && { mapOver: { ...raw.mapOver } }),
      callbacks: { onFailure: raw.onFailure, onSuccess: raw.onSuccess, onRetry: raw.onRetry },
    });
  });
  for (const task of tasks.values()) {
    for (const up of task.upstream) tasks.get(up)?.downstream.push(task.id); // missing: a bad task, noted
  }
  return tasks;
}

/** A task's raw options over its DAG's defaults for the kind, key by key (non-object options untouched). */
function withDefaults(defaults: Record<string, unknown> | undefined, options: unknown): unknown {
  if (defaults === undefined) return options;
  if (options === undefined) return { ...defaults };
  return typeof options === 'object' && options !== null && !Array.isArray(options) ? { ...defaults, ...options } : options;
}

/** Kahn's algorithm in declaration order; on a cycle, finds and names one. */
function topologicalOrder(tasks: Map<string, CompiledTask>, fail: (what: string) => never): string[] {
  const pending = new Map([...tasks.values()].map((t) => [t.id, t.upstream.length]));
  const order: string[] = [];
  const ready = [...tasks.keys()].filter((id) => pending.get(id) === 0);
  while (ready.length > 0) {
    const id = ready.shift()!;
    order.push(id);
    for (const down of tasks.get(id)!.downstream) {
      const left = pending.get(down)! - 1;
      pending.set(down, left);
      if (left === 0) ready.push(down);
    }
  }
  if (order.length < tasks.size) fail(`cycle ${findCycle(tasks, new Set(order)).join(' → ')}`);
  return order;
}

/** A cycle among the tasks Kahn could not order, as a path along upstream→downstream edges. */
function findCycle(tasks: Map<string, CompiledTask>, ordered: ReadonlySet<string>): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | null => {
    state.set(id, 'open');
    stack.push(id);
    for (const down of tasks.get(id)!.downstream) {
      if (ordered.has(down)) continue;
      if (state.get(down) === 'open') return [...stack.slice(stack.indexOf(down)), down];
      if (!state.has(down)) {
        const found = visit(down);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(id, 'done');
    return null;
  };
  for (const id of tasks.keys()) {
    if (ordered.has(id) || state.has(id)) continue;
    const found = visit(id);
    if (found) return found;
  }
  return [...tasks.keys()].filter((id) => !ordered.has(id)); // unreachable: Kahn left a cycle
}

function compileSchedule(
  schedule: { cron: string; timezone: string },
  fail: (what: string) => never,
): { cron: string; timezone: string } {
  const cron = schedule.cron.trim().replace(/\s+/g, ' ');
  const problem = cronError(cron) ?? timezoneError(schedule.timezone);
  if (problem) fail(`schedule: ${problem}`);
  return { cron, timezone: schedule.timezone };
}

/** 'YYYY-MM-DD' (midnight in the DAG's timezone) or an ISO 8601 instant with Z or an offset. */
function compileStartDate(value: string, tz: string | undefined, fail: (what: string) => never): Date {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    try {
      parseDay(value);
    } catch {
      fail(`startDate "${value}" is not an existing calendar day`);
    }
    return startOfDay(value, tz ?? 'UTC');
  }
  const instant = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)
    ? new Date(value)
    : new Date(NaN);
  if (Number.isNaN(instant.getTime())) {
    fail(`startDate "${value}" must be YYYY-MM-DD or an ISO 8601 instant with Z or an offset`);
  }
  return instant;
}

/** The DAG files among a folder's entries, sorted: `*.ts` but not `*.d.ts`. */
export function dagFileNames(entries: readonly string[]): string[] {
  return entries.filter((n) => n.endsWith('.ts') && !n.endsWith('.d.ts')).sort();
}

/** Imports one DAG file and compiles its default export; an import failure is DAG_INVALID naming the file. */
export async function importDag(file: string, kinds: ReadonlyMap<string, JobKind>): Promise<CompiledDag> {
  let mod: { default?: unknown };
  try {
    await allowTypeScript();
    mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (err) {
    const first = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new TributaryError('DAG_INVALID', `${file}: import failed: ${first}`, { cause: err });
  }
  return compileDag(mod.default, file, kinds, await fs.readFile(file, 'utf8').catch(() => undefined));
}

/**
 * Imports every `*.ts` file of `dir` (sorted by name) and compiles its default export. Two files
 * defining the same DAG id, or a file that fails to import, are DAG_INVALID errors naming the files.
 */
export async function loadDags(dir: string, kinds: ReadonlyMap<string, JobKind>): Promise<Map<string, CompiledDag>> {
  let entries: string[];
  try {
    entries = await fs.readdir(dir);
  } catch (err) {
    throw new TributaryError('DAG_INVALID', `${dir}: cannot read the DAG folder: ${(err as Error).message}`, { cause: err });
  }
  const dags = new Map<string, CompiledDag>();
  for (const name of dagFileNames(entries)) {
    const file = path.join(dir, name);
    const dag = await importDag(file, kinds);
    const other = dags.get(dag.id);
    if (other) throw new TributaryError('DAG_INVALID', `${file}: dag "${dag.id}": also defined in ${other.file}`);
    dags.set(dag.id, dag);
  }
  return dags;
}
