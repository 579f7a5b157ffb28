/**
 * Line numbers stay physical across the skip of an over-long record. Files whose over-long records
 * span several lines — quoted line ends, doubled and escaped quotes, an escaped line end, an escaped
 * quote at a line end, text after a closing quote; line ends before the record outgrows the limit
 * and after it — followed by valid rows and a later refused one: each record's first and last line,
 * and the reader's line count, are checked against a count made here from the file's own text (the
 * line ends before each record), with LF and CRLF and whatever the chunks.
 */
import { describe, expect, it } from 'vitest';
import { CsvReader, type CsvDialect } from '../../../jobs/load/csv-reader.ts';

const MAX = 1024;
const LONG = 'x'.repeat(MAX + 76);
const BASE: CsvDialect = { delimiter: ',', quote: '"', escape: '"', maxRecordBytes: MAX, strayQuotes: 'refuse' };

/** A file's records (line ends written `\n`) and the verdict each must get ('' for a blank line: none). */
interface Case {
  dialect: Partial<CsvDialect>;
  records: Array<[text: string, verdict: string]>;
}

const CASES: Record<string, Case> = {
  'quoted line ends and doubled quotes': {
    dialect: {},
    records: [
      ['id,note', 'ok'],
      ['1,plain', 'ok'],
      [`2,"${LONG}\nsecond ""line""\nthird line"`, 'record_too_long'],
      ['3,after', 'ok'],
      [`4,"${LONG}"tail\nstill inside\n"`, 'record_too_long'],
      ['5,after', 'ok'],
      [`6,"two lines\nbefore the limit\n${LONG}\nand one after"`, 'record_too_long'],
      ['', ''],
      ['7,bad"quote', 'stray_quote'],
      ['8,last', 'ok'],
    ],
  },
  'an escape character, an escaped line end': {
    dialect: { escape: '\\' },
    records: [
      ['id,note', 'ok'],
      [`1,"${LONG}\\\nescaped line end \\"q\\\\\nplain line\n\\\nan escaped quote ends this line \\"\nend"`, 'record_too_long'],
      ['2,after', 'ok'],
      [`3,"${LONG}\\\n\\\n"`, 'record_too_long'],
      [`4,"escaped \\\nbefore the limit\n${LONG}\\\nand after"`, 'record_too_long'],
      ['5,bad"quote', 'stray_quote'],
      ['6,last', 'ok'],
    ],
  },
};

type Seen = [first: number, last: number, verdict: string];

/** Reads `input` in chunks of `size` characters (0: one chunk): every record's lines and verdict, and the reader's line count. */
function read(input: string, size: number, dialect: Partial<CsvDialect>): { seen: Seen[]; lines: number } {
  const seen: Seen[] = [];
  const reader = new CsvReader({ ...BASE, ...dialect }, {
    record: (line, last) => seen.push([line, last, 'ok']),
    malformed: (line, last, _raw, _fields, rule) => seen.push([line, last, rule]),
  });
  const buf = Buffer.from(input);
  if (size === 0) reader.push(buf);
  else for (let i = 0; i < buf.length; i += size) reader.push(buf.subarray(i, i + size));
  reader.end();
  return { seen, lines: reader.lines };
}

/** The file's text, and each record's lines counted from that text: 1 + the line ends before it, + its own. */
function expected(c: Case, eol: string): { input: string; seen: Seen[]; lines: number } {
  const texts = c.records.map(([text]) => text.replaceAll('\n', eol));
  const input = texts.map((text) => text + eol).join('');
  const seen: Seen[] = [];
  let offset = 0;
  for (const [i, text] of texts.entries()) {
    const first = input.slice(0, offset).split('\n').length;
    const last = first + text.split('\n').length - 1;
    if (c.records[i][1] !== '') seen.push([first, last, c.records[i][1]]);
    offset += text.length + eol.length;
  }
  return { input, seen, lines: input.split('\n').length - 1 };
}

describe('CsvReader line numbers after an over-long multi-line record', () => {
  for (const [name, c] of Object.entries(CASES)) {
    for (const [eolName, eol] of [['LF', '\n'], ['CRLF', '\r\n']]) {
      it(`${name}, ${eolName}: every later record on its physical lines, whatever the chunks`, () => {
        const want = expected(c, eol);
        // The count made here is not the reader's: the over-long records really span several lines.
        expect(want.seen.filter(([first, last, verdict]) => verdict === 'record_too_long' && last - first >= 2)).toHaveLength(3);
        for (const size of [0, 1, 5, 512, MAX + 7]) {
          expect(read(want.input, size, c.dialect), `chunks of ${size}`).toEqual({ seen: want.seen, lines: want.lines });
        }
      });
    }
  }
});
