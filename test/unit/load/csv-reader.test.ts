import { describe, expect, it } from 'vitest';
import { CsvReader, type CsvDialect } from '../../../jobs/load/csv-reader.ts';

interface Out {
  line: number;
  raw: string;
  fields: string[] | null;
  rule?: string;
}

const DIALECT: CsvDialect = { delimiter: ',', quote: '"', escape: '"', maxRecordBytes: 1 << 20 };

/** Feeds `input` in chunks of `size` bytes (0 = one chunk). */
function read(input: string | Buffer, size = 0, dialect: Partial<CsvDialect> = {}, expected = 0): Out[] {
  const out: Out[] = [];
  const reader = new CsvReader({ ...DIALECT, ...dialect }, {
    record: (line, raw, fields) => out.push({ line, raw, fields: fields ?? raw.split(dialect.delimiter ?? ',') }),
    malformed: (line, raw, fields, rule) => out.push({ line, raw, fields, rule }),
  });
  reader.expectedFields = expected;
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

  it('refuses an unterminated quote at the end of the file and keeps the rows before it', () => {
    const out = read('a,b\n1,2\n3,"open\n4,5\n');
    expect(out[1]).toEqual({ line: 2, raw: '1,2', fields: ['1', '2'] });
    expect(out[2]).toMatchObject({ line: 3, raw: '3,"open', rule: 'unterminated_quote' });
    expect(out[3]).toEqual({ line: 4, raw: '4,5', fields: ['4', '5'] });
  });

  it('refuses only the line of a quote closed lines later by another quote, and resynchronises', () => {
    const out = read('a,b,c\n1,"open,x\n2,"fine",y\n3,z,w\n', 0, {}, 3);
    expect(out.map((o) => [o.line, o.rule ?? 'ok'])).toEqual([[1, 'ok'], [2, 'unterminated_quote'], [3, 'ok'], [4, 'ok']]);
    expect(out[2].fields).toEqual(['2', 'fine', 'y']);
  });

  it('refuses text after a closing quote on one line', () => {
    const out = read('a,b\n1,"x"y\n2,3\n');
    expect(out[1]).toMatchObject({ line: 2, raw: '1,"x"y', rule: 'closing_quote' });
    expect(out[2].fields).toEqual(['2', '3']);
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
    const reader = new CsvReader(DIALECT, { record: (_l, _r, _f, c) => clean.push(c), malformed: () => undefined });
    reader.push(Buffer.from('a,b\r\n1,x\ry\r\n"q",2\r\n3,4\r\n'));
    reader.end();
    expect(clean).toEqual([true, false, false, true]);
  });

  it('flags NUL bytes', () => {
    const out = read('a,b\n1,x\u0000y\n2,z\n');
    expect(out[1]).toMatchObject({ line: 2, rule: 'nul_byte', fields: ['1', 'x\u0000y'] });
    expect(out[2].rule).toBeUndefined();
  });

  it('cuts off a record longer than maxRecordBytes and goes on at the next line', () => {
    const long = 'x'.repeat(5000);
    const out = read(`a\n${long}\nb\n`, 512, { maxRecordBytes: 1024 });
    expect(out.map((o) => o.rule ?? o.raw)).toEqual(['a', 'record_too_long', 'b']);
    expect(out[2].line).toBe(3);
  });
});
