/**
 * bench:cli — how fast `trib` starts (issue 18: `trib --help` under 300 ms, `trib runs <dag>` under
 * 1 s on a quiet machine). The median wall time of `CLI_RUNS` (default 10) runs, after one unmeasured
 * warm-up, of `trib --help`, `trib dags list` and `trib runs example`, beside `node -e 0`, from
 * (a) `repo`: this checkout's bin (source through tsx), in a project linked to the checkout as
 * `trib init` makes one here, and (b) `installed`: the packed tarball installed in a `trib init`
 * project (test/support/package.ts). Both read that project's example DAG and one database
 * (embedded Postgres unless DATABASE_URL names a server), migrated once, holding one run of example.
 * stdout gets one JSON line: milliseconds and ratios to `node -e 0`; progress goes to stderr.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { cliEnv, REPO } from '../test/support/cli.ts';
import { installPackedProject } from '../test/support/package.ts';
import { freshDatabase, startServices } from '../test/support/services.ts';

const RUNS = Number(process.env.CLI_RUNS ?? 10);
const COMMANDS = { help: ['--help'], dags_list: ['dags', 'list'], runs: ['runs', 'example'] } as const;

const log = (msg: string) => process.stderr.write(`${msg}\n`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ratio = (ms: number, base: number) => Math.round((ms / base) * 100) / 100;

/** Runs `argv` once; its wall time in ms. Fails on a non-zero exit. */
function timed(argv: string[], cwd: string, env: NodeJS.ProcessEnv): number {
  const start = performance.now();
  const r = spawnSync(argv[0], argv.slice(1), { cwd, env, encoding: 'utf8' });
  const ms = performance.now() - start;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} (in ${cwd}) exited ${r.status ?? r.signal}: ${r.stderr}`);
  return ms;
}

/** Median ms of RUNS runs after one warm-up (tsx's compile cache, the file cache). */
function medianMs(argv: string[], cwd: string, env: NodeJS.ProcessEnv): number {
  timed(argv, cwd, env);
  return Math.round(median(Array.from({ length: RUNS }, () => timed(argv, cwd, env))));
}

async function main() {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-cli-'));
  const services = await startServices({ redis: false });
  try {
    log('packing this checkout and installing the tarball in a trib init project…');
    const pkg = await installPackedProject(root);
    const linked = path.join(root, 'linked');
    await fs.mkdir(path.join(linked, 'node_modules'), { recursive: true });
    await fs.cp(path.join(pkg.dir, 'dags'), path.join(linked, 'dags'), { recursive: true });
    await fs.copyFile(path.join(pkg.dir, 'package.json'), path.join(linked, 'package.json')); // "type": "module"
    await fs.symlink(REPO, path.join(linked, 'node_modules', 'tributary'), 'dir');

    const env = cliEnv({ DATABASE_URL: await freshDatabase(services.databaseUrl, 'bench_cli'), DAGS_DIR: 'dags' });
    timed([pkg.trib, 'migrate'], pkg.dir, env);
    timed([pkg.trib, 'trigger', 'example', '--date', '2025-05-13'], pkg.dir, env);

    const sides = {
      repo: { bin: [process.execPath, path.join(REPO, 'bin', 'trib.mjs')], cwd: linked },
      installed: { bin: [pkg.trib], cwd: pkg.dir },
    };
    const nodeMs = medianMs([process.execPath, '-e', '0'], root, env);
    const result: Record<string, number | Record<string, number>> = { runs: RUNS, node_ms: nodeMs };
    for (const [side, { bin, cwd }] of Object.entries(sides)) {
      const ms: Record<string, number> = {};
      const vsNode: Record<string, number> = {};
      for (const [name, args] of Object.entries(COMMANDS)) {
        ms[`${name}_ms`] = medianMs([...bin, ...args], cwd, env);
        vsNode[name] = ratio(ms[`${name}_ms`], nodeMs);
        log(`${side} trib ${args.join(' ')}: ${ms[`${name}_ms`]} ms (${vsNode[name]}× node -e 0)`);
      }
      result[side] = ms;
      result[`${side}_vs_node`] = vsNode;
    }
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await services.stop();
    await fs.rm(root, { recursive: true, force: true });
  }
}

await main();
