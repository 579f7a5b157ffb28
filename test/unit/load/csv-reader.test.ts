import { describe, expect, it } from 'vitest';
import { CsvReader, type CsvDialect } from '../../../jobs/load/csv-reader.ts';

interface Out {
  line: number;
  raw: string;
  fields: string[] | null;
  rule?: string;
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
    expect(out.map((o) => [o.lines, o.rule ?? 'ok'])).toEqual([[[1, 1], 'ok'], [[2, 3], 'stray_quote'], [[4, 4], 'ok']]);
    expect(out[1].fields).toEqual(['1', 'open,x\n2,"fine', 'y']);
  });

  it('refuses text after a closing quote as one record, read quote-aware to its real end', () => {
    expect(spans('a,b\n1,"x"y"\n2,3\n').map((o) => [o.lines, o.rule ?? 'ok'])).toEqual([[[1, 1], 'ok'], [[2, 2], 'stray_quote'], [[3, 3], 'ok']]);
    // `"x"y` leaves the field open: the record runs to the next quote that can close it, here line 4's.
    const out = spans('a,b\n1,"x"y\n2,3\n4,"z"\n5,6\n');
    expect(out.map((o) => [o.lines, o.rule ?? 'ok'])).toEqual([[[1, 1], 'ok'], [[2, 4], 'stray_quote'], [[5, 5], 'ok']]);
  });

  it('refuses a quote inside an unquoted field without opening a quoted field there', () => {
    const out = spans('a,b\n1,5 1/2" pipe\n2,3\n');
    expect(out.map((o) => [o.lines, o.rule ?? 'ok'])).toEqual([[[1, 1], 'ok'], [[2, 2], 'stray_quote'], [[3, 3], 'ok']]);
    expect(out[1].fields).toEqual(['1', '5 1/2" pipe']);
  });

  it('never makes records of the lines inside a quoted field (issue 8 cases)', () => {
    const wrongCount = spans('a,b,c,d\n4,1,1,"note\n900100,1,1,inner\n",extra\n5,1,1,x\n');
    expect(wrongCount.map((o) => [o.lines, o.fields?.length, o.rule ?? 'ok'])).toEqual([[[1, 1], 4, 'ok'], [[2, 4], 5, 'ok'], [[5, 5], 4, 'ok']]);
    const stray = spans('a,b,c,d\n5,1,1,"note "stray\n900000,1,1,injected\n"\n6,1,1,y\n');
    expect(stray.map((o) => [o.lines, o.rule ?? 'ok'])).toEqual([[[1, 1], 'ok'], [[2, 4], 'stray_quote'], [[5, 5], 'ok']]);
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
