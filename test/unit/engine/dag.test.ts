/** compileDag validation and defaults, and loadDags over a temp folder of DAG files (no services). */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { compileDag, defineDag, loadDags } from '../../../engine/dag.ts';
import { TributaryError } from '../../../engine/errors.ts';
import type { DagSpec, JobKind } from '../../../engine/types.ts';

const FILE = 'schedules/test_dag.ts';
const noop: JobKind = { name: 'noop', options: z.object({}).strict().default({}), handler: async () => null };
const copy: JobKind = {
  name: 'copy',
  options: z
    .object({ table: z.string().min(1), batch: z.object({ size: z.number().int().positive().default(500) }).prefault({}) })
    .strict(),
  handler: async () => null,
};
const KINDS: ReadonlyMap<string, JobKind> = new Map([
  ['noop', noop],
  ['copy', copy],
]);

function spec(overrides: Partial<DagSpec> = {}): DagSpec {
  return {
    id: 'test_dag',
    schedule: { cron: '0 6 * * *', timezone: 'Europe/London' },
    tasks: { a: { kind: 'noop' }, b: { kind: 'noop', upstream: ['a'] } },
    ...overrides,
  };
}

function invalid(raw: unknown, file = FILE): TributaryError {
  try {
    compileDag(raw, file, KINDS);
  } catch (err) {
    expect(err).toBeInstanceOf(TributaryError);
    const e = err as TributaryError;
    expect(e.code).toBe('DAG_INVALID');
    expect(e.message).toContain(file);
    expect(e.message).not.toContain('\n');
    return e;
  }
  return expect.fail('expected DAG_INVALID');
}

describe('compileDag', () => {
  it('fills every default, parses options, computes downstream and a topological order', () => {
    const dag = compileDag(
      spec({
        tasks: {
          report: { kind: 'noop', upstream: ['load', 'check'], triggerRule: 'all_done' },
          check: { kind: 'noop', upstream: ['load'], retries: 2, priority: 5 },
          load: { kind: 'copy', options: { table: 'trips' } },
          fan: { kind: 'noop', upstream: ['load'], mapOver: { task: 'load', path: 'files' } },
        },
      }),
      FILE,
      KINDS,
    );
    expect(dag).toMatchObject({ id: 'test_dag', description: '', file: FILE, catchup: false, maxActiveRuns: 1, params: {} });
    expect(dag.schedule).toEqual({ cron: '0 6 * * *', timezone: 'Europe/London' });
    expect(dag.startDate).toBeUndefined();
    expect(dag.order).toEqual(['load', 'check', 'fan', 'report']);
    expect(dag.tasks.get('load')).toEqual({
      id: 'load',
      kind: 'copy',
      options: { table: 'trips', batch: { size: 500 } },
      upstream: [],
      downstream: ['report', 'check', 'fan'],
      triggerRule: 'all_success',
      retries: 0,
      retryDelayMs: 1000,
      maxRetryDelayMs: 300_000,
      timeoutMs: 3_600_000,
      callbacks: { onFailure: [], onSuccess: [], onRetry: [] },
    });
    expect(dag.tasks.get('check')).toMatchObject({ retries: 2, priority: 5, downstream: ['report'] });
    expect(dag.tasks.get('report')).toMatchObject({ triggerRule: 'all_done', options: {} });
    expect(dag.tasks.get('fan')?.mapOver).toEqual({ task: 'load', path: 'files' });
  });

  it('schedule timezone defaults to UTC; a manual DAG has no schedule; startDate is parsed', () => {
    expect(compileDag(spec({ schedule: { cron: '0 6 * * *' } }), FILE, KINDS).schedule?.timezone).toBe('UTC');
    expect(compileDag(spec({ schedule: undefined }), FILE, KINDS).schedule).toBeUndefined();
    const dated = compileDag(spec({ startDate: '2025-05-01', catchup: true }), FILE, KINDS);
    expect(dated.startDate).toEqual(new Date('2025-04-30T23:00:00Z')); // midnight BST
    expect(compileDag(spec({ startDate: '2025-05-01T06:00:00+01:00' }), FILE, KINDS).startDate).toEqual(
      new Date('2025-05-01T05:00:00Z'),
    );
  });

  it('names a cycle with its path', () => {
    const e = invalid(
      spec({
        tasks: {
          start: { kind: 'noop' },
          a: { kind: 'noop', upstream: ['start', 'c'] },
          b: { kind: 'noop', upstream: ['a'] },
          c: { kind: 'noop', upstream: ['b'] },
        },
      }),
    );
    expect(e.message).toBe(`${FILE}: dag "test_dag": cycle a → b → c → a`);
  });

  it('a two-task cycle', () => {
    const e = invalid(spec({ tasks: { x: { kind: 'noop', upstream: ['y'] }, y: { kind: 'noop', upstream: ['x'] } } }));
    expect(e.message).toMatch(/cycle (x → y → x|y → x → y)$/);
  });

  it.each<[string, Partial<DagSpec>, string]>([
    ['unknown upstream', { tasks: { a: { kind: 'noop', upstream: ['nope'] } } }, 'task "a": unknown upstream "nope"'],
    ['upstream on itself', { tasks: { a: { kind: 'noop', upstream: ['a'] } } }, 'task "a": lists itself as upstream'],
    [
      'duplicate upstream',
      { tasks: { a: { kind: 'noop' }, b: { kind: 'noop', upstream: ['a', 'a'] } } },
      'task "b": lists upstream "a" twice',
    ],
    ['unknown job kind', { tasks: { a: { kind: 'teleport' } } }, 'task "a": unknown job kind "teleport" (known: copy, noop)'],
    [
      'mapOver not an upstream',
      { tasks: { a: { kind: 'noop' }, b: { kind: 'noop', mapOver: { task: 'a' } } } },
      'task "b": mapOver.task "a" must be one of its upstream tasks',
    ],
    ['bad task id', { tasks: { Load: { kind: 'noop' } } }, 'task "Load": task id must match'],
    ['no tasks', { tasks: {} }, 'tasks: must define at least one task'],
    ['bad cron value', { schedule: { cron: '61 6 * * *' } }, 'schedule: cron "61 6 * * *" is invalid'],
    ['six-field cron', { schedule: { cron: '0 0 6 * * *' } }, 'must have exactly 5 fields'],
    ['cron alias', { schedule: { cron: '@daily' } }, 'must have exactly 5 fields'],
    ['bad timezone', { schedule: { cron: '0 6 * * *', timezone: 'Europe/Atlantis' } }, 'timezone "Europe/Atlantis" is not a valid IANA timezone'],
    ['impossible startDate', { startDate: '2025-02-30' }, 'startDate "2025-02-30" is not an existing calendar day'],
    ['malformed startDate', { startDate: 'next tuesday' }, 'startDate "next tuesday" must be YYYY-MM-DD'],
    ['startDate without offset', { startDate: '2025-05-01T06:00:00' }, 'must be YYYY-MM-DD or an ISO 8601 instant'],
    ['bad option value', { tasks: { load: { kind: 'copy', options: { table: 7 } } } }, 'task "load" (kind "copy"): invalid options.table:'],
    [
      'nested option error',
      { tasks: { load: { kind: 'copy', options: { table: 't', batch: { size: -1 } } } } },
      'task "load" (kind "copy"): invalid options.batch.size: Too small',
    ],
    ['unknown option', { tasks: { a: { kind: 'noop', options: { sleep: 1 } } } }, 'task "a" (kind "noop"): invalid options: Unrecognized key: "sleep"'],
  ])('%s', (_name, overrides, fragment) => {
    const e = invalid(spec(overrides));
    expect(e.message).toContain(`${FILE}: dag "test_dag": `);
    expect(e.message).toContain(fragment);
  });

  it.each<[string, unknown, string]>([
    ['negative retries', spec({ tasks: { a: { kind: 'noop', retries: -1 } } }), 'tasks.a.retries:'],
    ['fractional retries', spec({ tasks: { a: { kind: 'noop', retries: 1.5 } } }), 'tasks.a.retries:'],
    ['zero timeout', spec({ tasks: { a: { kind: 'noop', timeoutMs: 0 } } }), 'tasks.a.timeoutMs:'],
    ['priority too high', spec({ tasks: { a: { kind: 'noop', priority: 2_097_153 } } }), 'tasks.a.priority:'],
    ['priority zero', spec({ tasks: { a: { kind: 'noop', priority: 0 } } }), 'tasks.a.priority:'],
    ['bad trigger rule', { ...spec(), tasks: { a: { kind: 'noop', triggerRule: 'sometimes' } } }, 'tasks.a.triggerRule:'],
    ['misspelt key', { ...spec(), tasks: { a: { kind: 'noop', upstreams: [] } } }, 'tasks.a: Unrecognized key'],
    ['maxActiveRuns 0', spec({ maxActiveRuns: 0 }), 'maxActiveRuns:'],
    ['params not JSON', { ...spec(), params: { when: new Date() } }, 'params.when:'],
  ])('schema: %s', (_name, raw, fragment) => {
    const e = invalid(raw);
    expect(e.message).toContain(`${FILE}: dag "test_dag": `);
    expect(e.message).toContain(fragment);
  });

  it('a bad dag id and a non-object are named by file', () => {
    expect(invalid(spec({ id: 'Bad-Id' })).message).toContain(`${FILE}: dag "Bad-Id": id: must match`);
    expect(invalid(undefined).message).toBe(
      `${FILE}: expected a DAG definition object (export default defineDag({…})), got undefined`,
    );
  });
});

describe('loadDags', () => {
  let root: string;
  const dagFile = (id: string, extra = '') =>
    `import { defineDag } from ${JSON.stringify(pathToFileURL(path.resolve('engine/dag.ts')).href)};\n` +
    `export default defineDag({ id: '${id}', ${extra} tasks: { a: { kind: 'noop' } } });\n`;

  async function folder(name: string, files: Record<string, string>): Promise<string> {
    const dir = path.join(root, name);
    await fs.mkdir(dir);
    for (const [file, text] of Object.entries(files)) await fs.writeFile(path.join(dir, file), text);
    return dir;
  }

  async function loadInvalid(dir: string): Promise<TributaryError> {
    const err = await loadDags(dir, KINDS).then(
      () => expect.fail('expected DAG_INVALID'),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).code).toBe('DAG_INVALID');
    expect((err as TributaryError).message).not.toContain('\n');
    return err as TributaryError;
  }

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-dags-'));
  });
  afterAll(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it('loads every .ts file by dag id and ignores other files', async () => {
    const dir = await folder('ok', {
      'first.ts': dagFile('first', "schedule: { cron: '0 6 * * *' },"),
      'second.ts': 'export default { id: "second", tasks: { a: { kind: "noop" }, b: { kind: "noop", upstream: ["a"] } } };\n',
      'notes.md': '# not a dag\n',
      'types.d.ts': 'export type X = number;\n',
    });
    const dags = await loadDags(dir, KINDS);
    expect([...dags.keys()]).toEqual(['first', 'second']);
    expect(dags.get('first')?.file).toBe(path.join(dir, 'first.ts'));
    expect(dags.get('first')?.schedule).toEqual({ cron: '0 6 * * *', timezone: 'UTC' });
    expect(dags.get('second')?.order).toEqual(['a', 'b']);
  });

  it('the same dag id in two files names both files', async () => {
    const dir = await folder('dupe', { 'one.ts': dagFile('same'), 'two.ts': dagFile('same') });
    const e = await loadInvalid(dir);
    expect(e.message).toBe(`${path.join(dir, 'two.ts')}: dag "same": also defined in ${path.join(dir, 'one.ts')}`);
  });

  it('a file that throws on import is named with the first line of its error', async () => {
    const dir = await folder('throws', {
      'good.ts': dagFile('good'),
      'boom.ts': "throw new Error('cannot reach the config\\nsecond line');\nexport default {};\n",
    });
    const e = await loadInvalid(dir);
    expect(e.message).toBe(`${path.join(dir, 'boom.ts')}: import failed: cannot reach the config`);
  });

  it('a missing folder is DAG_INVALID naming the folder', async () => {
    const missing = path.join(root, 'does-not-exist');
    expect((await loadInvalid(missing)).message).toContain(`${missing}: cannot read the DAG folder`);
  });

  it('a file without a default export, and an invalid DAG, are named by file', async () => {
    const none = await folder('nodefault', { 'named.ts': 'export const dag = { id: "x" };\n' });
    expect((await loadInvalid(none)).message).toContain(`${path.join(none, 'named.ts')}: expected a DAG definition`);
    const bad = await folder('cycle', {
      'loop.ts': "export default { id: 'loop', tasks: { a: { kind: 'noop', upstream: ['a'] } } };\n",
    });
    expect((await loadInvalid(bad)).message).toBe(`${path.join(bad, 'loop.ts')}: dag "loop": task "a": lists itself as upstream`);
  });
});

describe('defineDag', () => {
  it('returns its argument unchanged', () => {
    const s = spec();
    expect(defineDag(s)).toBe(s);
  });
});
