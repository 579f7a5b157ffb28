/**
 * advanceRun(client, dag, runId): inside the caller's transaction, takes the run's row lock and
 * moves every task whose upstreams have settled — queue it, expand it (mapped), skip it or mark it
 * upstream_failed — then closes mapped parents and the run itself when nothing can move.
 * Returns the jobs to enqueue after COMMIT. Safe to call any number of times (idempotent).
 */
import type pg from 'pg';
import { recordRunEvent } from './callbacks.ts';
import { decide, runOutcome } from './trigger-rules.ts';
import type { PendingJob } from './jobs.ts';
import { startQueuedRuns } from './runs.ts';
import { LOCK_RUN_SQL } from './try-sql.ts';
import type { CompiledDag, CompiledTask, Json, TaskState } from './types.ts';
import { TERMINAL_TASK_STATES } from './types.ts';

interface InstanceRow {
  id: number;
  task_id: string;
  map_index: number;
  state: TaskState;
  result: Json;
}

const isTerminal = (s: TaskState) => TERMINAL_TASK_STATES.includes(s);

export interface AdvanceResult {
  jobs: PendingJob[];
  /** Set when this call ended the run. */
  runState?: 'success' | 'failed';
}

/** `lockedRunState`: the caller already holds the run's row lock and read this state under it. */
export async function advanceRun(client: pg.PoolClient, dag: CompiledDag, runId: number, lockedRunState?: string): Promise<AdvanceResult> {
  const state = lockedRunState
    ?? (await client.query<{ state: string }>({ name: 'trib_lock_run', text: LOCK_RUN_SQL, values: [runId] })).rows[0]?.state;
  if (state !== 'running') return { jobs: [] };

  // Parent rows only: mapped children are read when their parent closes, so a 1,000-way map
  // does not make every completion read 1,000 rows.
  const { rows } = await client.query<InstanceRow & { map_pending: number }>({
    name: 'trib_parents',
    text: 'SELECT id, task_id, map_index, state, result, map_pending FROM task_instances WHERE run_id = $1 AND map_index = -1',
    values: [runId],
  });
  const parents = new Map<string, InstanceRow & { map_pending: number }>(rows.map((r) => [r.task_id, r]));
  const children = new Map<string, InstanceRow[]>();
  const jobs: PendingJob[] = [];
  const setState = async (row: InstanceRow, state: TaskState, extra: { result?: Json; error?: string } = {}) => {
    await client.query(
      `UPDATE task_instances SET state = $2, result = COALESCE($3::jsonb, result), error = COALESCE($4, error),
         ended_at = CASE WHEN $2 IN ('success','failed','upstream_failed','skipped') THEN clock_timestamp() ELSE ended_at END,
         updated_at = now()
       WHERE id = $1`,
      [row.id, state, extra.result === undefined ? null : JSON.stringify(extra.result), extra.error ?? null],
    );
    row.state = state;
    if (extra.result !== undefined) row.result = extra.result;
  };

  for (let moved = true; moved; ) {
    moved = false;
    for (const taskId of dag.order) {
      const task = dag.tasks.get(taskId) as CompiledTask;
      const row = parents.get(taskId);
      if (!row) continue;
      if (row.state === 'mapped') {
        if (row.map_pending > 0) continue;
        const kids = children.get(taskId) ?? (await loadChildren(client, runId, taskId));
        moved = (await closeMappedParent(row, kids, setState)) || moved;
        continue;
      }
      if (row.state !== 'none') continue;
      const decision = decide(task.triggerRule, task.upstream.map((u) => parents.get(u)?.state ?? 'none'));
      if (decision === 'wait') continue;
      moved = true;
      if (decision === 'skip') await setState(row, 'skipped');
      else if (decision === 'upstream_failed') await setState(row, 'upstream_failed');
      else if (task.mapOver) await expand(client, runId, task, row, parents, children, jobs, setState);
      else {
        const next = await queueInstance(client, row.id);
        row.state = 'queued';
        jobs.push(pending(task, row.id, next));
      }
    }
  }

  const leaves = dag.order.filter((id) => (dag.tasks.get(id) as CompiledTask).downstream.length === 0);
  if ([...parents.values()].every((r) => isTerminal(r.state))) {
    const outcome = runOutcome(leaves.map((id) => parents.get(id)?.state ?? 'none'));
    if (outcome !== 'running') {
      const ended = await client.query<{ logical_date: Date; ended_at: Date }>(
        `UPDATE dag_runs SET state = $2, ended_at = clock_timestamp() WHERE id = $1 AND state = 'running' RETURNING logical_date, ended_at`,
        [runId, outcome],
      );
      // The event commits with the run's end (an outbox row); its callbacks run after COMMIT.
      if (ended.rows[0]) await recordRunEvent(client, dag, { id: runId, logicalDate: ended.rows[0].logical_date, endedAt: ended.rows[0].ended_at }, outcome);
      // Hand-off: the run's slot is free now, so the next queued run starts in this same transaction.
      jobs.push(...(await startQueuedRuns(client, dag)));
      return { jobs, runState: outcome };
    }
  }
  return { jobs };
}

async function loadChildren(client: pg.PoolClient, runId: number, taskId: string): Promise<InstanceRow[]> {
  const { rows } = await client.query<InstanceRow>(
    'SELECT id, task_id, map_index, state, result FROM task_instances WHERE run_id = $1 AND task_id = $2 AND map_index >= 0',
    [runId, taskId],
  );
  return rows;
}

/**
 * A mapped child reached a terminal state: count it down on its parent. Only the last child
 * advances the run; the others take no run lock at all.
 */
export async function childFinished(client: pg.PoolClient, dag: CompiledDag, runId: number, taskId: string): Promise<AdvanceResult> {
  const { rows } = await client.query<{ map_pending: number }>(
    `UPDATE task_instances SET map_pending = map_pending - 1
     WHERE run_id = $1 AND task_id = $2 AND map_index = -1 AND state = 'mapped' RETURNING map_pending`,
    [runId, taskId],
  );
  if (rows.length > 0 && rows[0].map_pending > 0) return { jobs: [] };
  return advanceRun(client, dag, runId);
}

type SetState = (row: InstanceRow, state: TaskState, extra?: { result?: Json; error?: string }) => Promise<void>;

/** A mapped parent succeeds when all its children succeeded; its result is their results in order. */
async function closeMappedParent(row: InstanceRow, kids: InstanceRow[], setState: SetState): Promise<boolean> {
  if (!kids.every((k) => isTerminal(k.state))) return false;
  const ordered = [...kids].sort((a, b) => a.map_index - b.map_index);
  const ok = ordered.every((k) => k.state === 'success' || k.state === 'skipped');
  await setState(row, ok ? 'success' : 'failed', {
    result: ordered.map((k) => k.result ?? null),
    error: ok ? undefined : `${ordered.filter((k) => k.state === 'failed').length} of ${ordered.length} mapped instances failed`,
  });
  return true;
}

/** Reads the list to map over from the upstream result; inserts one queued child per item. */
async function expand(
  client: pg.PoolClient,
  runId: number,
  task: CompiledTask,
  row: InstanceRow,
  parents: Map<string, InstanceRow>,
  children: Map<string, InstanceRow[]>,
  jobs: PendingJob[],
  setState: SetState,
): Promise<void> {
  const over = task.mapOver as NonNullable<CompiledTask['mapOver']>;
  const source = parents.get(over.task)?.result ?? null;
  const list = over.path ? pickPath(source, over.path) : source;
  if (!Array.isArray(list)) {
    await setState(row, 'failed', {
      error: `MAP_SOURCE_INVALID: ${over.task}${over.path ? `.${over.path}` : ''} is not a list`,
    });
    return;
  }
  if (list.length === 0) {
    await setState(row, 'success', { result: [] });
    return;
  }
  // A re-run (cleared task) reuses the rows: their try numbers grow, so job ids stay fresh.
  await client.query('DELETE FROM task_instances WHERE run_id = $1 AND task_id = $2 AND map_index >= $3', [runId, task.id, list.length]);
  const inserted = await client.query<{ id: number; map_index: number; try_number: number; job_id: string }>(
    `INSERT INTO task_instances AS ti (run_id, task_id, map_index, state, try_number, max_tries, queue, map_item, job_id, queued_at)
     SELECT $1::bigint, $2::text, i - 1, 'queued', 1, $3::int, $4::text, item, 'r' || $1::bigint || '-' || $2::text || '-m' || (i - 1) || '-t1', now()
     FROM jsonb_array_elements($5::jsonb) WITH ORDINALITY AS t(item, i)
     ON CONFLICT (run_id, task_id, map_index) DO UPDATE SET state = 'queued', try_number = ti.try_number + 1,
       max_tries = ti.try_number + $3::int, map_item = EXCLUDED.map_item, result = NULL, error = NULL, pokes = 0,
       attempt = 0, lost_attempts = 0, infra_retries = 0, lease_until = NULL, not_before = NULL,
       job_id = 'r' || $1::bigint || '-' || $2::text || '-m' || ti.map_index || '-t' || (ti.try_number + 1), queued_at = now(), updated_at = now()
     RETURNING id, map_index, try_number, job_id`,
    [runId, task.id, task.retries + 1, task.kind, JSON.stringify(list)],
  );
  await client.query('UPDATE task_instances SET map_pending = $2 WHERE id = $1', [row.id, list.length]);
  await setState(row, 'mapped');
  children.set(task.id, inserted.rows.map((r) => ({ id: r.id, task_id: task.id, map_index: r.map_index, state: 'queued' as TaskState, result: null })));
  for (const r of inserted.rows) jobs.push(pending(task, r.id, { tryNumber: r.try_number, jobId: r.job_id }));
}

/** Queues the next try (try numbers only grow, so a cleared task never reuses a finished job id). */
async function queueInstance(client: pg.PoolClient, id: number): Promise<{ tryNumber: number; jobId: string }> {
  const { rows } = await client.query<{ try_number: number; job_id: string }>({
    name: 'trib_queue_instance',
    text: `UPDATE task_instances SET state = 'queued', try_number = try_number + 1, pokes = 0, queued_at = now(), updated_at = now(),
       attempt = 0, lost_attempts = 0, infra_retries = 0, lease_until = NULL, not_before = NULL,
       job_id = 'r' || run_id || '-' || task_id || '-m' || map_index || '-t' || (try_number + 1)
     WHERE id = $1 RETURNING try_number, job_id`,
    values: [id],
  });
  return { tryNumber: rows[0].try_number, jobId: rows[0].job_id };
}

function pending(task: CompiledTask, instanceId: number, next: { tryNumber: number; jobId: string }): PendingJob {
  return {
    queue: task.kind,
    jobId: next.jobId,
    data: { taskInstanceId: instanceId, tryNumber: next.tryNumber },
    priority: task.priority,
  };
}

function pickPath(value: Json, path: string): Json {
  let current: Json = value;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return null;
    current = current[key] ?? null;
  }
  return current;
}
