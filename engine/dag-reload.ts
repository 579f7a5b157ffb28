/**
 * Reloads changed DAG files into running engines (`trib standalone`, `trib scheduler`, `trib
 * worker`): watches DAGS_DIR, and a `*.ts` file changed, or new, is imported again (by URL with
 * `?v=<mtime>`: ESM caches modules by URL), compiled with the engine's kinds, swapped into the
 * engines' DAG map in place (the dispatcher, workers, scheduler and dashboard all read that map),
 * registered, and its cron tick restarted when its schedule changed. A try already running keeps
 * the version it started with; the next try reads the new one. A file that fails to compile keeps
 * the old version (one error line naming the file). Removed files keep their DAG until restart.
 * Only the DAG file itself is read again: a module it imports, and the project's kinds/, are not.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { compileDag, dagFileNames } from './dag.ts';
import type { Engine } from './engine.ts';
import { describeError, TributaryError } from './errors.ts';
import type { CompiledDag } from './types.ts';
import { allowTypeScript } from './typescript.ts';

export interface DagReloadOptions {
  /** The engines sharing one DAG map (e.g. the standalone's and its demo's); the first one's map is swapped. */
  engines: readonly Engine[];
  dir: string;
  log: Logger;
  /** Changes to one file within this long make one reload. @default 300 */
  debounceMs?: number;
}

export interface DagReloader {
  /** Reloads the given files now (the watcher calls it); resolves when they are in. */
  reload(files: readonly string[]): Promise<void>;
  close(): void;
}

export function watchDags(options: DagReloadOptions): DagReloader {
  const { engines, log } = options;
  const dags = engines[0].dags;
  if (!(dags instanceof Map)) throw new TributaryError('CONFIG_INVALID', 'DAG reload needs the engine\'s DAG map');
  const dir = path.resolve(options.dir);
  /** The default export each file last gave: the same object again means Node served it from its cache. */
  const exports = new Map<string, unknown>();
  const pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let running = Promise.resolve();

  const reloadOne = async (file: string): Promise<void> => {
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    const previousOfFile = [...dags.values()].find((d) => path.resolve(d.file) === file);
    if (!stat) {
      if (previousOfFile) log.warn({ file }, `dag file ${file} was removed: dag ${previousOfFile.id} stays loaded until restart`);
      return;
    }
    let dag: CompiledDag;
    try {
      await allowTypeScript();
      // The version loaded at start, as Node caches it: a reload returning it was not read again.
      if (previousOfFile && !exports.has(file)) exports.set(file, ((await import(pathToFileURL(file).href)) as { default?: unknown }).default);
      const mod = (await import(`${pathToFileURL(file).href}?v=${stat.mtimeMs}`)) as { default?: unknown };
      if (exports.has(file) && exports.get(file) === mod.default) {
        log.error({ file }, `cannot reload ${file}: Node served it from its module cache (a CommonJS file? its package.json needs "type": "module"); restart to load it`);
        return;
      }
      exports.set(file, mod.default);
      dag = compileDag(mod.default, file, engines[0].options.kinds, await fs.promises.readFile(file, 'utf8').catch(() => undefined));
    } catch (err) {
      const reason = err instanceof TributaryError ? err.message.split('\n').join('; ') : `${file}: import failed: ${describeError(err)}`;
      log.error({ file }, `dag file not reloaded, the loaded version stays: ${reason}`);
      return;
    }
    const other = dags.get(dag.id);
    if (other && path.resolve(other.file) !== file) {
      log.error({ file }, `dag file not reloaded: dag "${dag.id}" is also defined in ${other.file}`);
      return;
    }
    dags.set(dag.id, dag);
    for (const engine of engines) {
      await engine.register();
      await engine.rescheduleDag(other, dag);
    }
    log.info({ dag_id: dag.id, file }, `reloaded dag ${dag.id} from ${file}`);
  };

  const reload = (files: readonly string[]): Promise<void> => {
    running = running.then(async () => {
      for (const file of files) {
        await reloadOne(path.resolve(file)).catch((err: unknown) => log.error({ err, file }, `reloading ${file} failed`));
      }
    });
    return running;
  };

  const watcher = fs.watch(dir, (_event, name) => {
    if (!name || dagFileNames([name]).length === 0) return;
    pending.add(path.join(dir, name));
    clearTimeout(timer);
    timer = setTimeout(() => {
      const files = [...pending];
      pending.clear();
      void reload(files);
    }, options.debounceMs ?? 300);
  });
  watcher.on('error', (err) => log.error({ err, dir }, `watching ${dir} for DAG changes stopped`));
  return {
    reload,
    close: () => {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
