/**
 * Runs a docs page's blocks (test/support/doc-blocks.ts) in a project, in page order: files written,
 * `sh run` lines run with bash in the project with no Tributary environment (exit 0 each), `sql run`
 * on the project's own embedded Postgres (started for the block, then stopped, as `trib` does; its
 * rows printed as `a | b` lines under a header), and each `text output` block compared with what the
 * block before it printed: a run's line, params, and each task's state and rows (durations and
 * result details vary); SQL rows as they are.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { expect } from 'vitest';
import { startEmbeddedPostgres } from '../../../db/embedded.ts';
import { cliEnv } from '../../support/cli.ts';
import type { DocBlock } from '../../support/doc-blocks.ts';

const exec = promisify(execFile);

export interface Ran {
  line: string;
  stdout: string;
  stderr: string;
}

/** Runs `fn` on a client of the project's embedded Postgres (its data in `.tributary/pg`). */
export async function onProjectDatabase<T>(dir: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const server = await startEmbeddedPostgres({ dataDir: path.join(dir, '.tributary', 'pg') });
  const client = new pg.Client({ connectionString: server.url });
  try {
    await client.connect();
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
    await server.stop();
  }
}

/** `TASK  STATE  DURATION  ROWS  RESULT` table lines → [task, state, rows]; other lines as they are. */
function comparable(text: string): string[] {
  return text.trim().split('\n').map((line) => {
    const run = /^run \d+ (of .*)$/.exec(line);
    if (run) return `run N ${run[1]}`;
    const cells = line.split(/ {2,}/);
    return cells.length >= 4 && !line.startsWith('TASK') ? [cells[0], cells[1], cells[3]].join(' | ') : line.replace(/ {2,}/g, ' ');
  });
}

export async function runDocBlocks(dir: string, blocks: readonly DocBlock[], page: string): Promise<Ran[]> {
  const ran: Ran[] = [];
  for (const block of blocks) {
    if (block.kind === 'file' || block.kind === 'append') {
      await fs.mkdir(path.dirname(path.join(dir, block.path)), { recursive: true });
      if (block.kind === 'file') await fs.writeFile(path.join(dir, block.path), block.text);
      else await fs.appendFile(path.join(dir, block.path), `\n${block.text}`);
    } else if (block.kind === 'run') {
      for (const line of block.lines) {
        const r = await exec('bash', ['-c', line], { cwd: dir, env: cliEnv({}), timeout: 240_000 }).catch(
          (err: { code?: number; stdout?: string; stderr?: string }) => {
            throw new Error(`${page}: \`${line}\` exited ${err.code}: ${err.stderr ?? ''}${err.stdout ?? ''}`);
          },
        );
        ran.push({ line, stdout: r.stdout, stderr: r.stderr });
      }
    } else if (block.kind === 'sql') {
      const result = await onProjectDatabase(dir, (client) => client.query<Record<string, unknown>>(block.text));
      const lines = (result.fields ?? []).length === 0 ? [] : [
        result.fields.map((f) => f.name).join(' | '),
        ...result.rows.map((row) => result.fields.map((f) => String(row[f.name])).join(' | ')),
      ];
      ran.push({ line: block.text.trim(), stdout: lines.join('\n'), stderr: '' });
    } else if (block.kind === 'output') {
      const last = ran.at(-1);
      expect(last, `${page}: an output block with no command before it`).toBeDefined();
      const shown = comparable(block.text);
      const printed = comparable(last!.stdout);
      expect(printed.slice(0, shown.length), `${page}: what \`${last!.line}\` printed`).toEqual(shown);
    }
  }
  return ran;
}
