import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CsvReader, type CsvDialect } from '../../../jobs/load/csv-reader.ts';

/** The hand-written section of docs/reference/load.md on malformed records: its examples are these tests'. */
const MALFORMED_DOC = fs.readFileSync(new URL('../../../docs/notes/load/malformed-records.md', import.meta.url), 'utf8');
const documented = (file: string) => expect(MALFORMED_DOC, 'docs/notes/load/malformed-records.md shows this example').toContain(`\`\`\`csv\n${file}\`\`\`\n`);

interface Out {
  line: number;
  raw: string;
  fields: string[] | null;
  rule?: string;
}

/** Each refused record's line range, rule and message, reading `input` in chunks ending at `cuts`. */
function refusals(input: string, cuts: number[] = [], dialect: Partial<CsvDialect> = {}): Array<{ lines: [number, number]; rule: string; message: string }> {
  const out: Array<{ lines: [number, number]; rule: string; message: string }> = [];
  const reader = new CsvReader({ ...DIALECT, ...dialect }, {
    record: () => undefined,
    malformed: (line, last, _raw, _fields, rule, message) => out.push({ lines: [line, last], rule, message }),
  });
  feed(reader, Buffer.from(input), cuts);
  return out;
}

/** Pushes `buf` cut at the given offsets, then ends. */
function feed(reader: CsvReader, buf: Buffer, cuts: number[]): void {
  let at = 0;
  for (const cut of [...cuts, buf.length]) {
    reader.push(buf.subarray(at, cut));
    at = cut;
  }
  reader.end();
}

/** Every record with its line range and, per field, whether it was quoted. */
function spans(input: string, size = 0, dialect: Partial<CsvDialect> = {}): Array<{ lines: [number, number]; fields: string[] | null; quoted?: boolean[]; rule?: string }> {
  const out: Array<{ lines: [number, number]; fields: string[] | null; quoted?: boolean[]; rule?: string }> = [];
  const reader = new CsvReader({ ...DIALECT, ...dialect }, {
    record: (line, last, raw, fields, quoted) => out.push({ lines: [line, last], fields: fields ?? raw.split(','), quoted: quoted ?? raw.split(',').map(() => false) }),
    malformed: (line, last, _raw, fields, rule) => out.push({ lines: [line, last], fields, rule }),
  });
  const buf = Buffer.from(input);
  if (size === 0) reader.push(buf);
  else for (let i = 0; i < buf.length; i += size) reader.push(buf.subarray(i, i + size));
  reader.end();
  return out;
}

const DIALECT: CsvDialect = { delimiter: ',', quote: '"', escape: '"', maxRecordBytes: 1 << 20 };

/** Feeds `input` in chunks of `size` bytes (0 = one chunk). */
function read(input: string | Buffer, size = 0, dialect: Partial<CsvDialect> = {}): Out[] {
  const out: Out[] = [];
  const reader = new CsvReader({ ...DIALECT, ...dialect }, {
    record: (line, _last, raw, fields) => out.push({ line, raw, fields: fields ?? raw.split(dialect.delimiter ?? ',') }),
    malformed: (line, _last, raw, fields, rule) => out.push({ line, raw, fields, rule }),
  });
  const buf = typeof input === 'string' ? Buffer.from(input) : input;
  if (size === 0) reader.push(buf);
  else for (let i = 0; i < buf.length; i += size) reader.push(buf.subarray(i, i + size));
  reader.end();
  return out;
}

describe('CsvReader', () => {
  it('splits plain records and keeps physical line numbers and raw text', () => {
    expect(read('a,b\n1,2\n3,4')).toEqual([
      { line: 1, raw: 'a,b', fields: ['a', 'b'] },
      { line: 2, raw: '1,2', fields: ['1', '2'] },
      { line: 3, raw: '3,4', fields: ['3', '4'] },
    ]);
  });

  it('handles quoted delimiters, doubled quotes and embedded newlines (line numbers are physical)', () => {
    const out = read('id,text\n1,"a, b"\n2,"say ""hi"""\n3,"two\nlines"\n4,x\n');
    expect(out.map((o) => [o.line, o.fields])).toEqual([
      [1, ['id', 'text']],
      [2, ['1', 'a, b']],
      [3, ['2', 'say "hi"']],
      [4, ['3', 'two\nlines']],
      [6, ['4', 'x']],
    ]);
    expect(out[3].raw).toBe('3,"two\nlines"');
  });

  it('reads CRLF like LF, keeping CRLF inside quoted fields', () => {
    const lf = read('a,b\n1,"x\ny"\n2,z\n');
    const crlf = read('a,b\r\n1,"x\r\ny"\r\n2,z\r\n');
    expect(crlf.map((o) => o.line)).toEqual(lf.map((o) => o.line));
    expect(crlf[1].fields).toEqual(['1', 'x\r\ny']);
    expect(crlf[2]).toEqual({ line: 4, raw: '2,z', fields: ['2', 'z'] });
  });

  it('strips a UTF-8 BOM, even when it arrives split across chunks', () => {
    const input = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('a,b\n1,2\n')]);
    expect(read(input, 1)).toEqual(read('a,b\n1,2\n'));
    expect(read(input)[0].fields).toEqual(['a', 'b']);
  });

  it('gives the same records whatever the chunk size', () => {
    const input = 'h1,h2,h3\n"q,1","multi\r\nline ""quoted""",é\n,,\n"",x,"ü, ß"\r\nlast,"",end';
    const whole = read(input);
    for (const size of [1, 2, 3, 5, 7, 16]) expect(read(input, size)).toEqual(whole);
    expect(whole.at(-1)?.fields).toEqual(['last', '', 'end']);
  });

  it('skips blank lines but counts them as lines', () => {
    expect(read('a\n\n\r\nb\n').map((o) => [o.line, o.raw])).toEqual([[1, 'a'], [4, 'b']]);
  });

  it('supports another delimiter, quote and escape character', () => {
    const out = read("a;b\n1;'it\\'s; fine'\n", 0, { delimiter: ';', quote: "'", escape: '\\' });
    expect(out[1].fields).toEqual(['1', "it's; fine"]);
  });

  it('refuses a quote still open at the end of the file as one record, to the last line, whatever the chunks', () => {
    for (const input of ['a,b\n1,2\n3,"open\n4,5\n', 'a,b\n1,2\n3,"open\n4,5']) {
      for (const size of [0, 1, 4]) {
        const out = spans(input, size);
        expect(out.map((o) => [o.lines, o.rule ?? 'ok'])).toEqual([[[1, 1], 'ok'], [[2, 2], 'ok'], [[3, 4], 'unterminated_quote']]);
      }
    }
    expect(read('a,b\n3,"open\n4,5\n')[1]).toMatchObject({ raw: '3,"open\n4,5' });
  });

  it('keeps a quote closed lines later as one record: its inner lines are never records', () => {
    const out = spans('a,b,c\n1,"open,x\n2,"fine",y\n3,z,w\n');
    expect(out.map((o) => [o.lines, o.rule ?? 'ok'])).toEqual([[[1, 1], 'ok'], [[2, 3], 'text_after_quote'], [[4, 4], 'ok']]);
    expect(out[1].fields).toEqual(['1', 'open,x\n2,"fine', 'y']);
  });

  it('refuses text after a closing quote as one record, read quote-aware to its real end', () => {
    expect(spans('a,b\n1,"x"y"\n2,3\n').map((o) => [o.lines, o.rule ?? 'ok'])).toEqual([[[1, 1], 'ok'], [[2, 2], 'text_after_quote'], [[3, 3], 'ok']]);
    // `"x"y` leaves the field open: the record runs to the next quote that can close it, here line 4's.
    const out = spans('a,b\n1,"x"y\n2,3\n4,"z"\n5,6\n');
    expect(out.map((o) => [o.lines, o.rule ?? 'ok'])).toEqual([[[1, 1], 'ok'], [[2, 4], 'text_after_quote'], [[5, 5], 'ok']]);
  });

  // The examples of docs/notes/load/malformed-records.md.
  it('says where a quote closed, the text after it, and where the field really ends — or that nothing closes it', () => {
    const later = 'id,note\n1,"abc"tail\n2,x\n3,"y"\n4,z\n';
    const eof = 'id,note\n1,"abc"tail\n2,x\n';
    const never = 'id,note\n1,"never closed\n2,x\n';
    for (const file of [later, eof, never]) documented(file);
    for (const cuts of [[], [12], [13], [14], [20, 21]]) {
      expect(refusals(later, cuts)).toEqual([{
        lines: [2, 4], rule: 'text_after_quote',
        message: 'quoted field 2, opened on line 2, closes at line 2 character 7 but text follows (`tail`): the field runs on to the next quote that can close it, on line 4 (lines 2–4)',
      }]);
      expect(refusals(eof, cuts)).toEqual([{
        lines: [2, 3], rule: 'unterminated_quote',
        message: 'quoted field 2, opened on line 2, closes at line 2 character 7 but text follows (`tail`); no later quote closes it: the file ends inside it (lines 2–3)',
      }]);
    }
    expect(refusals(never)).toEqual([{ lines: [2, 3], rule: 'unterminated_quote', message: 'quoted field 2 is never closed, to the end of the file (lines 2–3)' }]);
    // The same in an over-long record, skipped to the end of the file.
    const long = `a\n"x"${'y'.repeat(2000)}\nz\n`;
    expect(refusals(long, [], { maxRecordBytes: 1024 })).toEqual([{
      lines: [2, 3], rule: 'unterminated_quote',
      message: 'a quoted field of the record on line 2 closes on line 2 but text follows; no later quote closes it: the file ends inside it (lines 2–3, to the end of the file)',
    }]);
  });

  it('keeps a quote inside an unquoted field as text (it opens nothing), or refuses it when told to', () => {
    const coordinates = 'id,place,coordinates\n1,Moscow,37°36\'37.8"N 55°45\'21.1"E\n2,"Kyiv, UA",50°27\'N 30°31\'E\n3,Pipe,5 1/2"\n';
    documented(coordinates);
    for (const size of [0, 1, 5]) {
      const out = spans(coordinates, size);
      expect(out.map((o) => [o.lines, o.rule ?? 'ok', o.fields])).toEqual([
        [[1, 1], 'ok', ['id', 'place', 'coordinates']],
        [[2, 2], 'ok', ['1', 'Moscow', '37°36\'37.8"N 55°45\'21.1"E']],
        [[3, 3], 'ok', ['2', 'Kyiv, UA', '50°27\'N 30°31\'E']],
        [[4, 4], 'ok', ['3', 'Pipe', '5 1/2"']],
      ]);
      expect(out[1].quoted).toEqual([false, false, false]);
    }
    expect(refusals(coordinates, [], { strayQuotes: 'refuse' })).toEqual([
      {
        lines: [2, 2], rule: 'stray_quote',
        message: 'quote inside unquoted field 3 at line 2 character 20 (`37°36\'37.8"N 55°45\'21.1"E`): a quote opens a field only at its start (csv.strayQuotes \'literal\' keeps it as text) (line 2)',
      },
      { lines: [4, 4], rule: 'stray_quote', message: 'quote inside unquoted field 3 at line 4 character 13 (`5 1/2"`): a quote opens a field only at its start (csv.strayQuotes \'literal\' keeps it as text) (line 4)' },
    ]);
  });

  it('never makes records of the lines inside a quoted field (issue 8 cases)', () => {
    documented('customer_number,customer_rating,customer_rating_limit,customer_status\n4,1,1,"note\n900100,1,1,inner\n",extra\n7,1,1,c\n');
    const wrongCount = spans('a,b,c,d\n4,1,1,"note\n900100,1,1,inner\n",extra\n5,1,1,x\n');
    expect(wrongCount.map((o) => [o.lines, o.fields?.length, o.rule ?? 'ok'])).toEqual([[[1, 1], 4, 'ok'], [[2, 4], 5, 'ok'], [[5, 5], 4, 'ok']]);
    const stray = spans('a,b,c,d\n5,1,1,"note "stray\n900000,1,1,injected\n"\n6,1,1,y\n');
    expect(stray.map((o) => [o.lines, o.rule ?? 'ok'])).toEqual([[[1, 1], 'ok'], [[2, 4], 'text_after_quote'], [[5, 5], 'ok']]);
  });

  it('keeps per field whether it was quoted: "" is a quoted empty, nothing an unquoted one', () => {
    expect(spans('a,"",c,"d"\n,,"",\n')).toEqual([
      { lines: [1, 1], fields: ['a', '', 'c', 'd'], quoted: [false, true, false, true] },
      { lines: [2, 2], fields: ['', '', '', ''], quoted: [false, false, true, false] },
    ]);
  });

  it('flags invalid UTF-8 on the right line, also when a chunk splits a character', () => {
    const input = Buffer.concat([Buffer.from('a,b\n1,é\n2,'), Buffer.from([0xff]), Buffer.from('x\n3,ü\n')]);
    for (const size of [0, 1, 2, 9]) {
      const out = read(input, size);
      expect(out.map((o) => [o.line, o.rule ?? 'ok'])).toEqual([[1, 'ok'], [2, 'ok'], [3, 'invalid_utf8'], [4, 'ok']]);
      expect(out[1].fields).toEqual(['1', 'é']);
      expect(out[3].fields).toEqual(['3', 'ü']);
    }
  });

  it('marks records whose raw text can go to COPY as read (no quote, no CR inside)', () => {
    const clean: boolean[] = [];
    const reader = new CsvReader(DIALECT, { record: (_l, _e, _r, _f, _q, c) => clean.push(c), malformed: () => undefined });
    reader.push(Buffer.from('a,b\r\n1,x\ry\r\n"q",2\r\n3,4\r\n'));
    reader.end();
    expect(clean).toEqual([true, false, false, true]);
  });

  it('flags NUL bytes', () => {
    const out = read('a,b\n1,x\u0000y\n2,z\n');
    expect(out[1]).toMatchObject({ line: 2, rule: 'nul_byte', fields: ['1', 'x\u0000y'] });
    expect(out[2].rule).toBeUndefined();
  });

  it('refuses a record longer than maxRecordBytes as one and goes on at the next line, whatever the chunks', () => {
    const long = 'x'.repeat(5000);
    for (const size of [0, 512]) {
      const out = read(`a\n${long}\nb\n`, size, { maxRecordBytes: 1024 });
      expect(out.map((o) => o.rule ?? o.raw)).toEqual(['a', 'record_too_long', 'b']);
      expect(out[2].line).toBe(3);
    }
  });

  it('decides a record of exactly maxRecordBytes the same wherever the chunks end: its line end is not counted', () => {
    const max = 64;
    const shapes = {
      plain: (len: number) => `1,${'x'.repeat(len - 2)}`,
      'quoted last': (len: number) => `1,"${'q'.repeat(len - 4)}"`,
      'quoted first': (len: number) => `"1",${'x'.repeat(len - 4)}`,
    };
    for (const eol of ['\n', '\r\n']) {
      for (const [shape, make] of Object.entries(shapes)) {
        for (const len of [max - 1, max, max + 1]) {
          const record = make(len);
          expect(record).toHaveLength(len);
          const input = `a,b${eol}${record}${eol}2,y${eol}`;
          const verdict = [[[1, 1], 'ok'], [[2, 2], len > max ? 'record_too_long' : 'ok'], [[3, 3], 'ok']];
          const at = (cuts: number[]) => {
            const out: Array<[number[], string]> = [];
            const reader = new CsvReader({ ...DIALECT, maxRecordBytes: max }, {
              record: (line, last) => out.push([[line, last], 'ok']),
              malformed: (line, last, _r, _f, rule) => out.push([[line, last], rule]),
            });
            feed(reader, Buffer.from(input), cuts);
            return out;
          };
          for (let cut = 0; cut <= input.length; cut++) expect(at([cut]), `${shape} ${JSON.stringify(eol)} ${len}, cut at ${cut}`).toEqual(verdict);
          // Three chunks around the record's end (its CR, its LF).
          const end = 3 + eol.length + len;
          for (let a = end - 3; a <= end + 2; a++) for (let b = a; b <= end + 3; b++) expect(at([a, b]), `${shape} cuts ${a},${b}`).toEqual(verdict);
        }
      }
    }
  });

  it('skips an over-long quoted field to its real end, quote-aware, as one record', () => {
    const inner = Array.from({ length: 400 }, (_, i) => `90000${i},1,1,"in""jected"`).join('\n');
    const input = `a,b,c,d\n1,1,1,ok\n2,1,1,"${inner.replace(/"/g, '""')}\n"\n3,1,1,"after"\n`;
    for (const size of [0, 1000, 4096]) {
      const out = spans(input, size, { maxRecordBytes: 1024 });
      expect(out.map((o) => [o.lines, o.rule ?? o.fields?.[0]])).toEqual([[[1, 1], 'a'], [[2, 2], '1'], [[3, 403], 'record_too_long'], [[404, 404], '3']]);
    }
    const open = spans(`a\n"${'y\n'.repeat(3000)}`, 700, { maxRecordBytes: 1024 });
    expect(open.map((o) => [o.lines, o.rule ?? 'ok'])).toEqual([[[1, 1], 'ok'], [[2, 3001], 'unterminated_quote']]);
  });
});
