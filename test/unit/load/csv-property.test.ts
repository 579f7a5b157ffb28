/**
 * Property tests of the CSV reader on generated files (fast-check prints the seed of a failure).
 * Clean files (unquoted fields may hold a quote after their first character): the reader and
 * csv-parse (an independent parser, `info` + `raw` + `relax_quotes`, per-field quoting from its cast
 * context) read the same records, values, quoted-ness and line ranges as the generator wrote,
 * whatever the chunk boundaries. Mangled files: one bait record (a quoted field holding record-like
 * lines, broken one way) is added; no accepted record is anything but a clean record the generator
 * wrote, at its lines, and records AND lines read = accepted + refused, counted from the generator's
 * truth and from a whole-text reference scan of the record boundaries.
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
  // A quote after an unquoted field's first character opens nothing: a literal character (`5 1/2"`).
  fc.tuple(text(PLAIN, 3).filter((t) => t !== ''), text([...PLAIN, '"'], 4)).map(([a, b]) => ({ value: `${a}"${b}`, quoted: false })),
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
function readAll(buf: Buffer, chunks: number[], width: number, maxRecordBytes = 1 << 20, strayQuotes: 'literal' | 'refuse' = 'literal'): Read {
  const out: Read = { accepted: [], refused: [] };
  const reader = new CsvReader({ delimiter: ',', quote: '"', escape: '"', maxRecordBytes, strayQuotes }, {
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
    bom: true, info: true, raw: true, relax_column_count: true, relax_quotes: true, skip_empty_lines: true, record_delimiter: ['\r\n', '\n'],
    cast: (value: string, context: { quoting: boolean }) => ({ value, quoted: context.quoting }),
  }) as unknown as Array<{ record: Array<{ value: string; quoted: boolean }>; info: { lines: number } }>;
  return rows.map((r) => ({ fields: r.record.map((f) => f.value), quoted: r.record.map((f) => f.quoted), last: r.info.lines }));
}

/**
 * Record boundaries by the documented rule, scanned over the whole text at once: a quote opens a
 * field only at its start, closes it only before a delimiter, a line end or the end; `""` is text.
 * `open`: the last record ends inside a quoted field (the end of the file closes nothing).
 */
function referenceSpans(t: string): { spans: Array<[number, number]>; open: boolean } {
  const spans: Array<[number, number]> = [];
  let open = false;
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
    open = inQuotes;
    const body = t.slice(start, i);
    if (body !== '' && body !== '\r') spans.push([first, line]);
  }
  return { spans, open };
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

  const BAITS = ['text_after_quote', 'stray_in_unquoted', 'swallowing', 'wrong_count', 'over_long', 'unterminated'] as const;
  const mangled = cleanFile.chain((file) => fc.record({
    file: fc.constant(file),
    bait: fc.constantFrom(...BAITS),
    at: fc.integer({ min: 0, max: file.records.length }),
    innerLines: fc.integer({ min: 1, max: 6 }),
    strayQuotes: fc.constantFrom('literal' as const, 'refuse' as const),
  }));

  /** A record of `width` fields whose last one is quoted and holds record-like lines, broken as told. */
  function bait(kind: (typeof BAITS)[number], width: number, innerLines: number): string {
    const record = Array.from({ length: width }, (_, i) => `inj${i}`).join(',');
    const inner = Array.from({ length: kind === 'over_long' ? 40 : innerLines }, () => record).join('\n');
    const head = Array.from({ length: width - 1 }, () => 'k').join(',');
    switch (kind) {
      case 'text_after_quote': return `${head},"note "stray\n${inner}\nend"`; // closed by its own last quote
      case 'stray_in_unquoted': return `${head.replace(/^k/, 'k"k')},"note\n${inner}"`;
      case 'swallowing': return `${head},"note\n${inner}\n"tail`; // open to a quote in a later record, or the end
      case 'wrong_count': return `${head},"note\n${inner}\n",extra`;
      case 'over_long': return `${head},"${inner}"`;
      case 'unterminated': return `${head},"never closed\n${inner}\n`;
    }
  }

  const RULES = {
    text_after_quote: 'text_after_quote', stray_in_unquoted: 'stray_quote', wrong_count: 'field_count', over_long: 'record_too_long', unterminated: 'unterminated_quote',
  } as const;
  const lineCount = (spans: Array<{ lines: [number, number] }>) => spans.reduce((sum, s) => sum + s.lines[1] - s.lines[0] + 1, 0);

  it('never accepts text from inside a quoted field, and counts every record and every line of a mangled file', () => {
    fc.assert(fc.property(mangled, ({ file, bait: kind, at, innerLines, strayQuotes }) => {
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
      const read = readAll(buf, file.chunks, file.width, kind === 'over_long' ? 200 : 1 << 20, strayQuotes);

      // With strayQuotes 'refuse', a clean record holding a quote inside an unquoted field is refused.
      const strict = (r: Span) => strayQuotes === 'refuse' && r.fields.some((f, k) => !r.quoted[k] && f.includes('"'));
      const cleanAccepted = clean.filter((r) => !strict(r));
      const cleanRefused = clean.filter(strict).map((r) => ({ lines: r.lines, rule: 'stray_quote' }));
      const byLine = <T extends { lines: [number, number] }>(list: T[]) => [...list].sort((a, b) => a.lines[0] - b.lines[0]);

      // Every record is read once, with the lines it spans: read = accepted + refused = the reference scan,
      // in records and in lines.
      const { spans: reference, open: endsOpen } = referenceSpans(body);
      expect(byLine([...read.accepted, ...read.refused]).map((r) => r.lines)).toEqual(reference);
      if (kind === 'stray_in_unquoted' && strayQuotes === 'literal') {
        // `k"k` is a literal quote: the bait is a well-formed record of the right width, accepted whole.
        expect(read.refused).toEqual([]);
        expect(read.accepted.map((r) => r.lines)).toEqual(byLine([...clean, { lines: [baitFirst, baitLast] as [number, number] }]).map((r) => r.lines));
        expect(read.accepted.find((r) => r.lines[0] === baitFirst)?.fields[0]).toBe('k"k');
        return;
      }
      // The bait is refused as one record from its first line, and none of its lines is accepted.
      const baitRecord = read.refused.find((r) => r.lines[0] === baitFirst)!;
      expect(baitRecord.lines[1]).toBeGreaterThanOrEqual(baitLast);
      expect(read.accepted.filter((r) => r.lines[1] >= baitFirst && r.lines[0] <= baitLast)).toEqual([]);
      if (kind !== 'swallowing') {
        // Where the bait ends is known: the bait and the strict-refused clean records are refused, every
        // other clean record accepted as written; refused lines = their spans, lines read = all spans.
        const refusedTruth = byLine([{ lines: [baitFirst, baitLast] as [number, number], rule: RULES[kind] }, ...cleanRefused]);
        expect(byLine(read.refused)).toEqual(refusedTruth);
        expect(read.accepted).toEqual(cleanAccepted);
        expect(lineCount(read.refused)).toBe(baitLast - baitFirst + 1 + lineCount(cleanRefused));
        expect(lineCount(read.accepted) + lineCount(read.refused)).toBe(lineCount(clean) + baitLast - baitFirst + 1);
      } else {
        // `"…"tail` leaves the field open to the next quote that can close it (or the end of the file):
        // the records before the bait are read as written; the bait's record is the reference's record
        // from its first line, every one of its lines counted refused.
        const [, last] = reference.find(([first]) => first === baitFirst)!;
        expect(baitRecord.lines).toEqual([baitFirst, last]);
        const open = endsOpen && last === reference.at(-1)![1];
        expect(baitRecord.rule).toBe(open ? 'unterminated_quote' : 'text_after_quote');
        expect(read.accepted.filter((r) => r.lines[0] < baitFirst)).toEqual(cleanAccepted.filter((r) => r.lines[0] < baitFirst));
        expect(byLine(read.refused).filter((r) => r.lines[0] < baitFirst)).toEqual(cleanRefused.filter((r) => r.lines[0] < baitFirst));
        expect(lineCount(read.refused)).toBeGreaterThanOrEqual(last - baitFirst + 1 + lineCount(cleanRefused.filter((r) => r.lines[0] < baitFirst)));
      }
    }), { numRuns: RUNS });
  });
});
