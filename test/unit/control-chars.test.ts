/**
 * Control characters in run params: refused (OPTIONS_INVALID naming the param) wherever a param is
 * rendered into a path, glob, pattern or partition; and `trib run show` prints text from data so
 * that no value can start a line of its own (visible escapes).
 */
import type pg from 'pg';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { oneLine, printable, shortJson, table } from '../../cli/format.ts';
import { renderRun } from '../../cli/commands/runs.ts';
import type { RunDetail } from '../../dashboard/queries.ts';
import { TributaryError } from '../../engine/errors.ts';
import { loadOptions } from '../../jobs/load/options.ts';
import { resolveSources } from '../../jobs/load/sources.ts';
import { compileFilePattern } from '../../jobs/sensor/file-pattern.ts';
import { renderTemplate } from '../../jobs/templates.ts';
import { makeTaskContext } from '../support/task-context.ts';

const logicalDate = new Date('2025-05-13T00:00:00Z');
/** Every C0, DEL and C1 control character. */
const CONTROLS = [...Array.from({ length: 0x20 }, (_, i) => i), 0x7f, ...Array.from({ length: 0x20 }, (_, i) => 0x80 + i)].map((c) => String.fromCharCode(c));
const plainText = fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !/\p{Cc}/u.test(s));

function refusal(run: () => unknown): TributaryError {
  try {
    run();
  } catch (err) {
    if (err instanceof TributaryError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('params rendered into paths and patterns', () => {
  it('refuses each of the 65 control characters anywhere in a param value, naming the param and the character', () => {
    expect(CONTROLS).toHaveLength(65);
    fc.assert(
      fc.property(fc.constantFrom(...CONTROLS), plainText, plainText, (control, before, after) => {
        const err = refusal(() => renderTemplate('/data/{params.dataDir}/{yyyymmdd}.csv', { logicalDate, params: { dataDir: `${before}${control}${after}` } }));
        expect(err.code).toBe('OPTIONS_INVALID');
        expect(err.retryable).toBe(false);
        expect(err.message).toContain('param "dataDir"');
        expect(err.message).toContain(`U+${control.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} at index ${before.length}`);
        expect(err.message).not.toMatch(/\p{Cc}/u); // the refusal itself prints on one line
      }),
      { numRuns: 300 },
    );
  });

  it('renders values without control characters unchanged (unicode, spaces, quotes)', () => {
    fc.assert(
      fc.property(plainText, (value) => {
        expect(renderTemplate('{params.x}|{date}', { logicalDate, params: { x: value } })).toBe(`${value}|2025-05-13`);
      }),
      { numRuns: 200 },
    );
  });

  it('the load glob, the load partition and the sensor pattern refuse a newline in a param', async () => {
    const ctx = makeTaskContext({} as pg.PoolClient, { params: { dir: '/tmp/in\n/etc', agency: 'north\r', prefix: 'a\u0085b' } });
    const options = (extra: object) => loadOptions.parse({ target: 't', columns: [{ name: 'a', type: 'text' }], ...extra });
    await expect(resolveSources(ctx, options({ source: { glob: '{params.dir}/*.csv' } }))).rejects.toMatchObject({
      code: 'OPTIONS_INVALID', message: expect.stringContaining('param "dir" holds control character U+000A') as string,
    });
    await expect(resolveSources(ctx, options({ source: { file: '/tmp/x.csv' }, mode: 'replace-partition', partition: { column: 'agency', value: '{params.agency}' } })))
      .rejects.toMatchObject({ code: 'OPTIONS_INVALID', message: expect.stringContaining('U+000D') as string });
    expect(refusal(() => compileFilePattern('{params.prefix}_{yyyymmdd}.csv', ctx)).message).toContain('U+0085');
  });
});

describe('trib run show prints no value on a line of its own', () => {
  const forged = 'ok\nrun 9 of other — success\r\u0085\u2028\u001b[31m';
  const run: RunDetail = {
    id: 7, dagId: 'forge', logicalDate, state: 'failed', runType: 'manual', triggeredBy: forged, dagVersion: 'abc123abc123', params: { note: forged },
    createdAt: logicalDate, startedAt: logicalDate, endedAt: logicalDate, warnings: 1,
    tasks: [{
      taskId: 'load', mapIndex: -1, state: 'failed', tryNumber: 1, maxTries: 1, queue: 'load', startedAt: logicalDate, endedAt: logicalDate,
      durationMs: 5, result: null, error: `FILE_NOT_FOUND: no file ${forged}`, errorCode: 'FILE_NOT_FOUND', worker: null, waiting: null,
      warnings: [`file ${forged}: 1 of 2 rows refused`],
    }],
    refused: [{ taskId: 'load', mapIndex: -1, path: `/data/${forged}`, rowsRead: 2, rowsRefused: 1 }],
    waitReason: `waiting for 1 file matching ${forged}`,
  };

  it('escapes control characters and line separators in params, the wait reason, errors, warnings and paths', () => {
    const out = renderRun(run);
    expect(out.replaceAll('\n', '')).not.toMatch(/[\p{Cc}\u2028\u2029]/u);
    const lines = out.split('\n');
    expect(lines.filter((l) => l.startsWith('run '))).toEqual(['run 7 of forge — failed (1 warning)']);
    expect(lines).toContain('params {"note":"ok\\nrun 9 of other — success\\r\\u0085\\u2028\\u001b[31m"}');
    expect(lines.filter((l) => l.includes('run 9 of other'))).toHaveLength(6); // triggered by, params, wait reason, error, warning, refused path
  });

  it('printable: one visible escape per character, idempotent, nothing else changed', () => {
    expect(printable('a\nb\tc\rd\u0000e\u009bf\u2029g — é')).toBe('a\\nb\\tc\\rd\\u0000e\\u009bf\\u2029g — é');
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (s) => {
      const once = printable(s);
      expect(once).not.toMatch(/[\p{Cc}\u2028\u2029]/u);
      expect(printable(once)).toBe(once);
    }), { numRuns: 300 });
    expect(shortJson({ a: '\u0085' })).toBe('{"a":"\\u0085"}');
    expect(oneLine('x\u2028y')).toBe('x\\u2028y');
    expect(table(['A'], [['x\ny']])).toBe('A\nx\\ny');
  });
});
