/**
 * Issue 16 §3 through the real load handler: `"abc"tail` on data row 3 of a 10,000-row file. With
 * the next quoted field on row 5,000 the refused record spans lines 4–5001 (4,998 lines): the shipped
 * defaults fail the file; a raised maxLinesPerRecord loads the rest with the lines counted, named in
 * the warnings, and held against the ratio. With no later quote the file fails as open at its end,
 * saying the quote did close. Truth from the generator, checked against the table with our own SQL.
 */
import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TributaryError } from '../../../engine/errors.ts';
import type { LoadOptionsInput } from '../../../jobs/load/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { countIfExists, expectAccounting, query, RATING_COLUMNS, RATING_HEADER, runLoad, tempDir, writeFile } from './helpers.ts';

let database: TestDatabase;
let dir: string;
let closedLater: string;
let neverClosed: string;
beforeAll(async () => {
  database = await createTestDatabase();
  dir = await tempDir('malformed-lines');
  closedLater = await writeFile(dir, 'closed_later.csv', ratings(5000));
  neverClosed = await writeFile(dir, 'never_closed.csv', ratings(null));
});
afterAll(async () => {
  await database.drop();
  await fs.rm(dir, { recursive: true, force: true });
});

const ROWS = 10_000;
/** Data row n is on line n + 1 (the header is line 1). */
const BAD_ROW = 3;

/** 10,000 rating rows; row 3's status is `"abc"tail`, and row `quotedAt` (if any) has a quoted status. */
function ratings(quotedAt: number | null): string {
  const lines = [RATING_HEADER];
  for (let n = 1; n <= ROWS; n++) lines.push(`${n},1,1,${n === BAD_ROW ? '"abc"tail' : n === quotedAt ? '"quoted"' : 'ok'}`);
  return `${lines.join('\n')}\n`;
}

// Generator truth for closed_later.csv: the record opened on row 3 (line 4) runs to row 5,000's
// closing quote (line 5001); rows 1–2 and 5,001–10,000 are read as written.
const FIRST = BAD_ROW + 1;
const LAST = 5000 + 1;
const SPAN = LAST - FIRST + 1; // 4,998
const LOADED = [1, 2, ...Array.from({ length: ROWS - 5000 }, (_, i) => 5001 + i)];

const load = (file: string, target: string, extra: Partial<LoadOptionsInput> = {}) => runLoad(database, { source: { file }, target, columns: RATING_COLUMNS, ...extra });
const failure = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as TributaryError);

describe('load: "abc"tail on row 3 of a 10,000-row file', () => {
  it('the shipped defaults fail the file, naming the swallowed lines and the way out; nothing loaded', async () => {
    const err = await failure(load(closedLater, 'tail_default'));
    expect(err?.code).toBe('REJECT_LIMIT_EXCEEDED');
    expect(err?.message).toContain(`a refused record spans lines ${FIRST}–${LAST} (${SPAN} lines, more than rejectLimit.maxLinesPerRecord 100)`);
    expect(err?.message).toContain('closes at line 4 character 11 but text follows (`tail`)');
    expect(err?.message).toContain('raise rejectLimit.maxLinesPerRecord');
    expect(await countIfExists(database, 'tail_default')).toBe(0);
  });

  it('with maxLinesPerRecord raised it loads the rest, counts the 4,998 refused lines and names them in the warnings', async () => {
    const result = await load(closedLater, 'tail_raised', { rejectLimit: { maxLinesPerRecord: ROWS } });
    expect(result).toMatchObject({ rows_read: LOADED.length + 1, rows_loaded: LOADED.length, rows_rejected: 1 });
    expect(result.rows_read).toBe(5003);
    expect(result.files[0]).toMatchObject({ lines_read: ROWS, lines_rejected: SPAN, multiline_rejects: { count: 1, lines: SPAN, ranges: [[FIRST, LAST]] } });
    expect(expectAccounting(result)).toBe(true);
    expect(result.warnings).toEqual([`${closedLater}: a refused record spans ${SPAN} lines (lines ${FIRST}–${LAST}); no row on them loaded — if a quote swallowed rows there, fix it and load the file again`]);
    const loaded = (await query<{ n: number }>(database, 'SELECT customer_number AS n FROM tail_raised ORDER BY 1')).map((r) => r.n);
    expect(loaded).toEqual(LOADED);
    expect(await query(database, `SELECT line, errors->0->>'rule' AS rule, reason FROM audit.tail_raised_rejects`)).toEqual([{
      line: FIRST, rule: 'text_after_quote',
      reason: `quoted field 4, opened on line ${FIRST}, closes at line ${FIRST} character 11 but text follows (\`tail\`): the field runs on to the next quote that can close it, on line ${LAST} (lines ${FIRST}–${LAST})`,
    }]);
  });

  it('the ratio counts refused lines: 4,998 of 10,000 lines warns past 1% and fails past 10%, though 1 of 5,003 rows would not', async () => {
    const warned = await load(closedLater, 'tail_warned', { rejectLimit: { maxLinesPerRecord: ROWS, warn: { ratio: 0.01 }, fail: { ratio: 0.5 } } });
    expect(warned.warnings[0]).toBe(`${closedLater}: 1 of 5003 rows refused (0.02%), ${SPAN} of ${ROWS} lines (49.98%), above the warn limit ratio 0.01`);
    expect(warned.warnings).toHaveLength(2); // and the line-range warning
    const err = await failure(load(closedLater, 'tail_failed', { rejectLimit: { maxLinesPerRecord: ROWS, fail: { ratio: 0.1 } } }));
    expect(err?.code).toBe('REJECT_LIMIT_EXCEEDED');
    expect(err?.message).toBe(`${closedLater}: 1 of 5003 rows refused (0.02%), ${SPAN} of ${ROWS} lines (49.98%), above the fail limit ratio 0.1`);
    expect(await countIfExists(database, 'tail_failed')).toBe(0);
    // The fail count too, as soon as the record is refused.
    const counted = await failure(load(closedLater, 'tail_counted', { rejectLimit: { maxLinesPerRecord: ROWS, fail: { count: 100 } } }));
    expect(counted?.message).toContain(`more than 100 lines refused (1 row spanning ${SPAN} lines) (lines ${FIRST}–${LAST}:`);
  });

  it('with no later quote the file fails as open at its end — saying the quote did close, then text followed', async () => {
    const err = await failure(load(neverClosed, 'tail_open', { rejectLimit: { maxLinesPerRecord: 100_000 } }));
    expect(err?.code).toBe('FILE_UNTERMINATED_QUOTE');
    expect(err?.message).toBe(`${neverClosed}: quoted field 4, opened on line ${FIRST}, closes at line ${FIRST} character 11 but text follows (\`tail\`); no later quote closes it: the file ends inside it (lines ${FIRST}–${ROWS + 1}); nothing loaded — the file may be cut short, or its quoting broken there`);
    expect(await countIfExists(database, 'tail_open')).toBe(0);
  });
});
