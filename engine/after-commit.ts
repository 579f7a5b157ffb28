/**
 * What one try asked to happen after its transaction: plain hooks (ctx.afterCommit) and durable
 * file renames (ctx.renameAfterCommit, recorded in the transaction: engine/file-effects.ts). The
 * runner says how the transaction ended:
 * - committed(): the renames are completed first (a downstream task may read the file), then the
 *   commit hooks run;
 * - rolledBack(): the renames' temp files are removed, then the rollback hooks run;
 * - uncertain() (the COMMIT failed with no answer: it may have landed): no hook runs, and the
 *   database decides each rename (settleUncertain).
 * A hook's error is logged, never thrown; a rename that fails stays pending for the sweeper.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { describeError } from './errors.ts';
import { completeEffect, recordRename, settleUncertain, type EffectOwner, type RecordedEffect } from './file-effects.ts';
import { removeTemp } from './file-moves.ts';
import type { TaskContext } from './types.ts';

interface Hook {
  onCommit: () => unknown;
  onRollback?: () => unknown;
}

export class AfterCommit {
  private readonly hooks: Hook[] = [];
  private readonly renames: RecordedEffect[] = [];

  /** `client` is the try's, inside its transaction. */
  constructor(
    private readonly client: pg.PoolClient,
    private readonly owner: EffectOwner,
  ) {}

  /** The TaskContext members that register effects. */
  /** Whether the try registered an effect (its end must then commit on its own connection, engine/lane-batch.ts). */
  get used(): boolean {
    return this.hooks.length > 0 || this.renames.length > 0;
  }

  context(): Pick<TaskContext, 'afterCommit' | 'renameAfterCommit'> {
    return {
      afterCommit: (onCommit, onRollback) => void this.hooks.push({ onCommit, onRollback }),
      renameAfterCommit: async (file) => void this.renames.push(await recordRename(this.client, this.owner, file)),
    };
  }

  async committed(pool: pg.Pool, log: Logger): Promise<void> {
    for (const effect of this.renames) {
      await guarded(log, 'a file effect could not be completed (the sweeper will)', () => completeEffect(pool, effect, log, 'worker'));
    }
    for (const hook of this.hooks) await guarded(log, 'an after-commit hook failed', hook.onCommit);
  }

  async rolledBack(log: Logger): Promise<void> {
    for (const effect of this.renames) {
      await guarded(log, 'the temp file of a rolled back try could not be removed', () => removeTemp(effect, effect.dataRoots));
    }
    for (const hook of this.hooks) if (hook.onRollback) await guarded(log, 'an after-rollback hook failed', hook.onRollback);
  }

  /** Call once the try's end has been recorded (recordFailure): see settleUncertain. */
  async uncertain(pool: pg.Pool, log: Logger): Promise<void> {
    if (this.hooks.length > 0) log.warn({ hooks: this.hooks.length }, 'the COMMIT failed without an answer: after-commit hooks not run');
    await settleUncertain(pool, this.renames, log);
  }
}

async function guarded(log: Logger, what: string, work: () => unknown): Promise<void> {
  try {
    await work();
  } catch (err) {
    log.error({ err: describeError(err) }, what);
  }
}
