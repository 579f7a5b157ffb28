/**
 * `npm run test:mutations [-- --only <id,…>] [-- --list]`: checks that the tests catch the breaks
 * listed in test/mutations.ts. For each mutant: replaces its `find` (exactly once in its file) by
 * `replace`, runs `npx vitest run <tests>` (the normal global setup), restores the file's original
 * bytes (in a `finally`, and on SIGINT/SIGTERM) and verifies them, and records killed (a test
 * failed) or survived (all passed); a run that failed without a failing test (setup, timeout) is
 * an error. One line per mutant, then one JSON line; exits 1 if any survived or errored.
 * The files are mutated in the working tree: it refuses to start if any file it would mutate has
 * uncommitted changes, so a restore never has anything to lose. Not part of `npm test`.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MUTATIONS, type Mutation } from '../test/mutations.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
/** A mutant's test run longer than this is stopped and counted an error. */
const RUN_LIMIT_MS = 10 * 60_000;

const out = (line: string) => process.stdout.write(`${line}\n`);
const fail = (message: string): never => {
  process.stderr.write(`mutations: ${message}\n`);
  process.exit(2);
};

function parseArgs(argv: string[]): { only: string[] | null; list: boolean } {
  let only: string[] | null = null;
  let list = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--list') list = true;
    else if (argv[i] === '--only' && argv[i + 1]) only = argv[++i].split(',').filter(Boolean);
    else if (argv[i].startsWith('--only=')) only = argv[i].slice('--only='.length).split(',').filter(Boolean);
    else fail(`unknown argument ${argv[i]} (options: --only <id,…>, --list)`);
  }
  return { only, list };
}

const occurrences = (text: string, find: string) => text.split(find).length - 1;

/** Every problem with the list's entries, each naming its entry; empty when the list is sound. */
function validate(mutations: Mutation[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const m of mutations) {
    const where = `mutation ${m.id} (${m.file})`;
    if (seen.has(m.id)) problems.push(`${where}: duplicate id`);
    seen.add(m.id);
    if (m.find.length === 0 || /[\r\n]/.test(m.find) || /[\r\n]/.test(m.replace)) problems.push(`${where}: find and replace must each be one line (find non-empty)`);
    if (m.tests.length === 0) problems.push(`${where}: no tests`);
    for (const t of m.tests) if (!fs.existsSync(path.join(root, t))) problems.push(`${where}: test file ${t} does not exist`);
    const file = path.join(root, m.file);
    if (!fs.existsSync(file)) {
      problems.push(`${where}: file does not exist`);
      continue;
    }
    const n = occurrences(fs.readFileSync(file, 'utf8'), m.find);
    if (n !== 1) problems.push(`${where}: find occurs ${n} times in the file, not exactly once: ${m.find}`);
  }
  return problems;
}

/** Files among `files` with uncommitted changes (staged or not) or not tracked at all. */
function dirtyFiles(files: string[]): string[] {
  return files.filter((file) => {
    try {
      execFileSync('git', ['ls-files', '--error-unmatch', '--', file], { cwd: root, stdio: 'ignore' });
      execFileSync('git', ['diff', '--quiet', 'HEAD', '--', file], { cwd: root, stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
}

/** The file mutated right now and its original bytes; what a signal must restore. */
let applied: { file: string; original: Buffer } | null = null;
let child: ReturnType<typeof spawn> | null = null;

/** Writes the original bytes back and checks them; exits (2) if the file does not read back equal. */
function restore(): void {
  if (!applied) return;
  const { file, original } = applied;
  fs.writeFileSync(file, original);
  if (!fs.readFileSync(file).equals(original)) fail(`${path.relative(root, file)} does not read back as its original after the restore: fix it by hand (git diff)`);
  applied = null;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (child?.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL'); // the vitest run's own process group
      } catch {
        // already gone
      }
    }
    restore();
    process.stderr.write(`mutations: ${signal}, file restored, stopped\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

/** Runs the tests in their own process group; resolves to vitest's exit code and its output. */
function runTests(tests: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn('npx', ['vitest', 'run', ...tests], {
      cwd: root,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    child = proc;
    let output = '';
    proc.stdout.on('data', (d: Buffer) => (output += d));
    proc.stderr.on('data', (d: Buffer) => (output += d));
    const timer = setTimeout(() => {
      output += `\nmutations: stopped after ${RUN_LIMIT_MS / 1000} s\n`;
      if (proc.pid) process.kill(-proc.pid, 'SIGKILL');
    }, RUN_LIMIT_MS);
    proc.on('error', reject);
    proc.on('close', (code) => {
      clearTimeout(timer);
      child = null;
      resolve({ code, output });
    });
  });
}

type Outcome = 'killed' | 'survived' | 'error';

async function check(m: Mutation): Promise<Outcome> {
  const file = path.join(root, m.file);
  const original = fs.readFileSync(file);
  const text = original.toString('utf8');
  if (occurrences(text, m.find) !== 1) fail(`mutation ${m.id} (${m.file}): find no longer occurs exactly once`);
  const started = Date.now();
  let result: { code: number | null; output: string };
  try {
    applied = { file, original };
    fs.writeFileSync(file, text.replace(m.find, () => m.replace));
    result = await runTests(m.tests);
  } finally {
    restore();
  }
  const failedTests = /Test Files\s+\d+ failed/.test(result.output);
  const outcome: Outcome = result.code === 0 ? 'survived' : failedTests ? 'killed' : 'error';
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  out(`${outcome.padEnd(8)} ${m.id.padEnd(28)} ${m.file}  ${secs} s${outcome === 'killed' ? '' : `  — guards: ${m.guards}`}`);
  if (outcome === 'error') process.stderr.write(`${result.output.split('\n').slice(-30).join('\n')}\n`);
  return outcome;
}

async function main(): Promise<void> {
  const { only, list } = parseArgs(process.argv.slice(2));
  const problems = validate(MUTATIONS);
  if (problems.length > 0) fail(`the list (test/mutations.ts) is out of date:\n  ${problems.join('\n  ')}`);
  const unknown = (only ?? []).filter((id) => !MUTATIONS.some((m) => m.id === id));
  if (unknown.length > 0) fail(`no mutation with id ${unknown.join(', ')} (see --list)`);
  const chosen = only ? MUTATIONS.filter((m) => only.includes(m.id)) : MUTATIONS;
  if (list) {
    for (const m of chosen) out(`${m.id.padEnd(28)} ${m.file}  [${m.tests.join(', ')}]  — ${m.guards}`);
    return;
  }
  const dirty = dirtyFiles([...new Set(chosen.map((m) => m.file))]);
  if (dirty.length > 0) fail(`uncommitted changes (or untracked) in ${dirty.join(', ')}: commit them first, a mutant run rewrites these files`);

  const outcomes = new Map<string, Outcome>();
  for (const m of chosen) outcomes.set(m.id, await check(m));
  const ids = (o: Outcome) => [...outcomes].filter(([, v]) => v === o).map(([id]) => id);
  const survived = ids('survived');
  const errors = ids('error');
  out(JSON.stringify({ mutants: outcomes.size, killed: ids('killed').length, survived, errors }));
  process.exitCode = survived.length > 0 || errors.length > 0 ? 1 : 0;
}

await main();
