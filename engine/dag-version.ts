/**
 * A DAG's version: the first 12 hex characters of a sha256 over its file's text (when it came from
 * a file), its graph (tasks, kinds, upstreams, trigger rules, retries, options, mapping, schedule,
 * default params) and the handler source of every kind it uses. Two processes with the same DAG
 * file and the same Tributary get the same version; an edited file, a changed option or an
 * upgraded kind gives another. Registered in `dags.version`, kept with each run
 * (`dag_runs.dag_version`) and with each attempt a worker runs (`task_attempts.dag_version`), so a
 * rolling upgrade that runs a try on another version than its run's is on the record.
 */
import { createHash } from 'node:crypto';
import type { CompiledDag, JobKind } from './types.ts';

/** JSON for hashing: functions and regular expressions by their source text, cycles cut. */
function stableJson(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'function' || v instanceof RegExp) return String(v);
    if (typeof v === 'bigint') return v.toString();
    if (v && typeof v === 'object') {
      if (seen.has(v)) return '[cycle]';
      seen.add(v);
    }
    return v;
  }) ?? '';
}

export function dagVersion(dag: Omit<CompiledDag, 'version'>, kinds: ReadonlyMap<string, JobKind>, source?: string): string {
  const tasks = dag.order.map((id) => {
    const t = dag.tasks.get(id)!;
    return [t.id, t.kind, t.upstream, t.triggerRule, t.retries, t.timeoutMs, t.mapOver ?? null, stableJson(t.options)];
  });
  const used = [...new Set(dag.order.map((id) => dag.tasks.get(id)!.kind))].sort();
  const handlers = used.map((name) => [name, String(kinds.get(name)?.handler ?? '')]);
  return createHash('sha256')
    .update(stableJson({ source: source ?? null, id: dag.id, schedule: dag.schedule ?? null, params: dag.params, tasks, handlers }))
    .digest('hex')
    .slice(0, 12);
}
