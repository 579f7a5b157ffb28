/**
 * Property tests of the CSV reader on generated files (fast-check prints the seed of a failure).
 * Clean files: the reader and csv-parse (an independent parser, `info` + `raw`, per-field quoting
 * from its cast context) read the same records, values, quoted-ness and line ranges as the
 * generator wrote, whatever the chunk boundaries. Mangled files: one bait record (a quoted field
 * holding record-like lines, broken one way) is added; no accepted record is anything but a clean
 * record the generator wrote, at its lines, and records read = accepted + refused, counted from
 * the generator's truth and from a whole-text reference scan of the record boundaries.
 */
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvReader } from '../../../jobs/load/csv-reader.ts';

interface Field { value: string; quoted: boolean }
interface Span { lines: [number, number]; fields: string[]; quoted: boolean[] }
interface Read { accepted: Span[]; refused: Array<{ lines: [number, number]; rule: string }> }

const PLAIN = ['a', 'b', 'z', '0', '7', ' ', '-', '.', 'é', 'ß', '€', '😀', '\t', "'"];
const QUOTED = [...PLAIN, ',', '"', '\n', '\r\n', '\r', '""'];
const text = (alphabet: string[], max: number) => fc.array(fc.constantFrom(...alphabet), { maxLength: max }).map((a) => a.join(''));
const field: fc.Arbitrary<Field> = fc.oneof(
  text(PLAIN, 6).map((value) => ({ value, quoted: false })),
  text(QUOTED, 8).map((value) => ({ value, quoted: true })),
);

/** A clean file: N fields per record, LF or CRLF after each, maybe blank lines, BOM, no final line end. */
const cleanFile = fc.integer({ min: 2, max: 5 }).chain((width) => fc.record({
  width: fc.constant(width),
  records: fc.array(fc.tuple(fc.array(field, { minLength: width, maxLength: width }), fc.constantFrom('\n', '\r\n'), fc.boolean()), { maxLength: 12 }),
  bom: fc.boolean(),
  finalEol: fc.boolean(),
  chunks: fc.array(fc.integer({ min: 1, max: 37 }), { minLength: 1, maxLength: 12 }),
}));

const write = (f: Field) => (f.quoted ? `"${f.value.replace(/"/g, '""')}"` : f.value);

/** The file's text and the generator's truth: each record with its line range. */
function render(file: { records: Array<[Field[], string, boolean]>; finalEol: boolean }): { body: string; truth: Span[] } {
  let body = '';
  let line = 1;
  const truth: Span[] = [];
  file.records.forEach(([fields, eol, blankAfter], i) => {
    const raw = fields.map(write).join(',');
    const last = line + (raw.match(/\n/g)?.length ?? 0);
    truth.push({ lines: [line, last], fields: fields.map((f) => f.value), quoted: fields.map((f) => f.quoted) });
    const end = i < file.records.length - 1 || file.finalEol ? eol : '';
    body += raw + end + (blankAfter && end !== '' ? '\n' : '');
    line = last + (end === '' ? 0 : 1) + (blankAfter && end !== '' ? 1 : 0);
  });
  return { body, truth };
}

function bytesOf(body: string, bom: boolean): Buffer {
  return Buffer.concat([bom ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0), Buffer.from(body, 'utf8')]);
}

/** Runs the reader over `buf` in chunks of the given sizes (cycled); a record of another width is refused. */
function readAll(buf: Buffer, chunks: number[], width: number, maxRecordBytes = 1 << 20): Read {
  const out: Read = { accepted: [], refused: [] };
  const reader = new CsvReader({ delimiter: ',', quote: '"', escape: '"', maxRecordBytes }, {
    record: (line, last, raw, fields, quoted) => {
      const f = fields ?? raw.split(',');
      if (f.length !== width) out.refused.push({ lines: [line, last], rule: 'field_count' });
      else out.accepted.push({ lines: [line, last], fields: f, quoted: quoted ?? f.map(() => false) });
    },
    malformed: (line, last, _raw, _fields, rule) => out.refused.push({ lines: [line, last], rule }),
  });
  for (let at = 0, k = 0; at < buf.length; k++) {
    const size = chunks[k % chunks.length];
    reader.push(buf.subarray(at, at + size));
    at += size;
  }
  reader.end();
  return out;
}

/** csv-parse's reading: per record its values, quoting and the line it ends on. */
function reference(buf: Buffer): Array<{ fields: string[]; quoted: boolean[]; last: number }> {
  const rows = parse(buf, {
    bom: true, info: true, raw: true, relax_column_count: true, skip_empty_lines: true, record_delimiter: ['\r\n', '\n'],
    cast: (value: string, context: { quoting: boolean }) => ({ value, quoted: context.quoting }),
  }) as unknown as Array<{ record: Array<{ value: string; quoted: boolean }>; info: { lines: number } }>;
  return rows.map((r) => ({ fields: r.record.map((f) => f.value), quoted: r.record.map((f) => f.quoted), last: r.info.lines }));
}

/**
 * Record boundaries by the documented rule, scanned over the whole text at once: a quote opens a
 * field only at its start, closes it only before a delimiter, a line end or the end; `""` is text.
 */
function referenceSpans(t: string): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  let line = 1;
  for (let i = 0; i < t.length; i++, line++) {
    const first = line;
    const start = i;
    let inQuotes = false;
    let fieldStart = true;
    for (; i < t.length && (inQuotes || t[i] !== '\n'); i++) {
      const c = t[i];
      if (!inQuotes) {
        inQuotes = c === '"' && fieldStart;
        fieldStart = c === ',';
      } else if (c === '\n') line++;
      else if (c === '"' && t[i + 1] === '"') i++;
      else if (c === '"' && (i + 1 === t.length || /^(,|\n|\r\n|\r$)/.test(t.slice(i + 1, i + 3)))) inQuotes = false;
    }
    if (inQuotes && t.endsWith('\n')) line--;
    const body = t.slice(start, i);
    if (body !== '' && body !== '\r') spans.push([first, line]);
  }
  return spans;
}

const RUNS = 1000;

describe('CsvReader on generated files', () => {
  it('reads clean files exactly as written and as csv-parse reads them, whatever the chunks', () => {
    fc.assert(fc.property(cleanFile, (file) => {
      const { body, truth } = render(file);
      const buf = bytesOf(body, file.bom);
      const read = readAll(buf, file.chunks, file.width);
      expect(read.refused).toEqual([]);
      expect(read.accepted).toEqual(truth);
      const ref = reference(buf);
      expect(ref.map((r) => ({ fields: r.fields, quoted: r.quoted }))).toEqual(truth.map((s) => ({ fields: s.fields, quoted: s.quoted })));
      // csv-parse counts a CR inside quotes as a line of its own; ours are LF lines: compare without one.
      if (!truth.some((r) => r.fields.some((f) => f.includes('\r')))) expect(ref.map((r) => r.last)).toEqual(truth.map((s) => s.lines[1]));
    }), { numRuns: RUNS });
  });

  const BAITS = ['stray_in_quoted', 'stray_in_unquoted', 'text_after_close', 'wrong_count', 'over_long', 'unterminated'] as const;
  const mangled = cleanFile.chain((file) => fc.record({
    file: fc.constant(file),
    bait: fc.constantFrom(...BAITS),
    at: fc.integer({ min: 0, max: file.records.length }),
    innerLines: fc.integer({ min: 1, max: 6 }),
  }));

  /** A record of `width` fields whose last one is quoted and holds record-like lines, broken as told. */
  function bait(kind: (typeof BAITS)[number], width: number, innerLines: number): string {
    const record = Array.from({ length: width }, (_, i) => `inj${i}`).join(',');
    const inner = Array.from({ length: kind === 'over_long' ? 40 : innerLines }, () => record).join('\n');
    const head = Array.from({ length: width - 1 }, () => 'k').join(',');
    switch (kind) {
      case 'stray_in_quoted': return `${head},"note "stray\n${inner}\nend"`;
      case 'stray_in_unquoted': return `${head.replace(/^k/, 'k"k')},"note\n${inner}"`;
      case 'text_after_close': return `${head},"note\n${inner}\n"tail`;
      case 'wrong_count': return `${head},"note\n${inner}\n",extra`;
      case 'over_long': return `${head},"${inner}"`;
      case 'unterminated': return `${head},"never closed\n${inner}\n`;
    }
  }

  it('never accepts text from inside a quoted field, and counts every record of a mangled file', () => {
    fc.assert(fc.property(mangled, ({ file, bait: kind, at, innerLines }) => {
      // The bait goes in at `at` (an unterminated one last); records keep CRLF/LF ends, the file ends with one.
      const records = [...file.records];
      const baitText = bait(kind, file.width, innerLines);
      const index = kind === 'unterminated' ? records.length : at;
      const { body: before, truth: truthBefore } = render({ records: records.slice(0, index), finalEol: true });
      const { body: after, truth: truthAfter } = render({ records: records.slice(index), finalEol: true });
      const baitFirst = (before.match(/\n/g)?.length ?? 0) + 1;
      const baitLast = baitFirst + (baitText.replace(/\n$/, '').match(/\n/g)?.length ?? 0);
      const body = before + baitText + (kind === 'unterminated' ? '' : '\n') + after;
      const clean = [...truthBefore, ...truthAfter.map((s) => ({ ...s, lines: [s.lines[0] + baitLast, s.lines[1] + baitLast] as [number, number] }))];
      const buf = bytesOf(body, file.bom);
      const read = readAll(buf, file.chunks, file.width, kind === 'over_long' ? 200 : 1 << 20);

      // Every record is read once, with the lines it spans: read = accepted + refused = the reference scan.
      const spans = [...read.accepted, ...read.refused].map((r) => r.lines).sort((a, b) => a[0] - b[0]);
      expect(spans).toEqual(referenceSpans(body));
      // The bait is refused as one record from its first line, and none of its lines is accepted.
      const refused = [...read.refused].sort((a, b) => a.lines[0] - b.lines[0]);
      expect(refused[0].lines[0]).toBe(baitFirst);
      expect(refused[0].lines[1]).toBeGreaterThanOrEqual(baitLast);
      expect(read.accepted.filter((r) => r.lines[1] >= baitFirst && r.lines[0] <= baitLast)).toEqual([]);
      const rule = { stray_in_quoted: 'stray_quote', stray_in_unquoted: 'stray_quote', text_after_close: 'stray_quote', wrong_count: 'field_count', over_long: 'record_too_long', unterminated: 'unterminated_quote' }[kind];
      if (kind !== 'text_after_close') {
        // Where the bait ends is known: exactly one record refused, every clean record accepted as written.
        expect(read.refused).toEqual([{ lines: [baitFirst, baitLast], rule }]);
        expect(read.accepted).toEqual(clean);
      } else {
        // `"…"tail` leaves the field open to the next quote that can close it (or the end of the file):
        // the records before the bait are read as written, and the bait's record swallows what follows.
        expect(['stray_quote', 'unterminated_quote']).toContain(refused[0].rule);
        expect(read.accepted.filter((r) => r.lines[0] < baitFirst)).toEqual(clean.filter((r) => r.lines[0] < baitFirst));
      }
    }), { numRuns: RUNS });
  });
});
