/**
 * decodeChunks: compressed and non-UTF-8 bytes → the UTF-8 CsvReader reads, whatever the chunk
 * boundaries; contradictions between bytes and options fail with the option to set; hints.
 * Truths come from independent encoders (Buffer's latin1/utf16le, a literal Windows-1252 table,
 * zlib's gzip, the zstd command), never from the decoder under test.
 */
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeChunks, Utf16ToUtf8 } from '../../../jobs/load/decode.ts';
import { delimiterHint, encodingContradiction, encodingHint, SNIFF_BYTES } from '../../../jobs/load/file-hints.ts';
import type { LoadOptions } from '../../../jobs/load/options.ts';

type Csv = Pick<LoadOptions['csv'], 'encoding' | 'compression'>;
const csv = (encoding: Csv['encoding'], compression: Csv['compression'] = 'auto'): Csv => ({ encoding, compression });

/** The source as the load gives it; `closed` is set when the decoder lets go of it. */
function source(chunks: Buffer[]) {
  const state = { closed: false, pulled: 0 };
  async function* gen() {
    try {
      for (const c of chunks) {
        state.pulled++;
        yield c;
      }
    } finally {
      state.closed = true;
    }
  }
  return { raw: gen(), state };
}

async function decodeAll(chunks: Buffer[], options: Csv, path = 'f.csv'): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of decodeChunks(source(chunks).raw, options, path)) out.push(c);
  return Buffer.concat(out);
}

async function failure(chunks: Buffer[], options: Csv, path = 'f.csv'): Promise<{ code: string; message: string; closed: boolean }> {
  const { raw, state } = source(chunks);
  try {
    for await (const _ of decodeChunks(raw, options, path)) void _;
  } catch (err) {
    const e = err as { code: string; message: string };
    return { code: e.code, message: e.message, closed: state.closed };
  }
  throw new Error('decoding did not fail');
}

const cut = (buf: Buffer, at: number[]) => {
  const points = [...new Set(at.map((p) => Math.min(p, buf.length)))].sort((a, b) => a - b);
  return [0, ...points].map((p, i) => buf.subarray(p, points[i] ?? buf.length)).filter((c) => c.length > 0);
};

// Windows-1252 0x80–0x9F as printed in the WHATWG index (the five unused bytes as C1 controls).
const CP1252_C1 = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ';
function cp1252(text: string): Buffer {
  return Buffer.from([...text].map((ch) => {
    const i = CP1252_C1.indexOf(ch);
    if (i !== -1) return 0x80 + i;
    const cp = ch.codePointAt(0) as number;
    if (cp > 0xff || (cp >= 0x80 && cp <= 0x9f)) throw new Error(`not in Windows-1252: ${ch}`);
    return cp;
  }));
}
const utf16be = (text: string) => Buffer.from(text, 'utf16le').swap16();

/** A file over SNIFF_BYTES, so that chunk boundaries past the sniffed head reach the decoders. */
const ROW = 'id,name,note\n1,Zoë,“quoted” €5\n2,Ærøskøbing,façade – ok\n';
const SAMPLE = `${ROW.repeat(Math.ceil((SNIFF_BYTES + 300) / ROW.length))}3,end,ß\n`;
const SAMPLE_16 = `${'id,name\n1,日本🎉,é\n'.repeat(Math.ceil((SNIFF_BYTES + 300) / 36))}2,end,𝄞\n`;

const CASES: Array<{ name: string; options: Csv; bytes: Buffer; text: string; path?: string }> = [
  { name: 'windows-1252', options: csv('windows-1252'), bytes: cp1252(SAMPLE), text: SAMPLE },
  { name: 'latin1', options: csv('latin1'), bytes: Buffer.from(SAMPLE.replace(/[“”€–]/g, '?'), 'latin1'), text: SAMPLE.replace(/[“”€–]/g, '?') },
  // a UTF-16 byte-order mark becomes UTF-8's (CsvReader skips it)
  { name: 'utf-16le with BOM', options: csv('utf-16le'), bytes: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(SAMPLE_16, 'utf16le')]), text: `\ufeff${SAMPLE_16}` },
  { name: 'utf-16be with BOM', options: csv('utf-16be'), bytes: Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(SAMPLE_16)]), text: `\ufeff${SAMPLE_16}` },
  { name: 'utf-16 (BOM says BE)', options: csv('utf-16'), bytes: Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(SAMPLE_16)]), text: `\ufeff${SAMPLE_16}` },
  { name: 'utf-16le without BOM', options: csv('utf-16le'), bytes: Buffer.from(SAMPLE_16, 'utf16le'), text: SAMPLE_16 },
  { name: 'utf-16 without BOM (NUL bytes say BE)', options: csv('utf-16'), bytes: utf16be(SAMPLE_16), text: SAMPLE_16 },
  { name: 'gzip by magic bytes', options: csv('utf-8'), bytes: gzipSync(Buffer.from(SAMPLE)), text: SAMPLE },
  { name: 'zstd, named .zst', options: csv('utf-8'), bytes: execFileSync('zstd', ['-q', '-c'], { input: Buffer.from(SAMPLE) }), text: SAMPLE, path: 'f.csv.zst' },
  { name: 'gzip of windows-1252', options: csv('windows-1252', 'gzip'), bytes: gzipSync(cp1252(SAMPLE)), text: SAMPLE },
];

describe('decodeChunks', () => {
  it.each(CASES)('$name: the same UTF-8 text at every split offset', async ({ options, bytes, text, path }) => {
    const want = Buffer.from(text, 'utf8');
    for (let at = 0; at <= bytes.length; at += at < SNIFF_BYTES - 8 ? 7 : 1) {
      const got = await decodeAll(cut(bytes, [at]), options, path);
      if (!got.equals(want)) expect.fail(`split at ${at}: ${JSON.stringify(got.toString('utf8').slice(0, 80))}`);
    }
  });

  it.each(CASES)('$name: the same UTF-8 text whatever the chunks (fast-check)', async ({ options, bytes, text, path }) => {
    const want = Buffer.from(text, 'utf8');
    await fc.assert(fc.asyncProperty(fc.array(fc.integer({ min: 0, max: bytes.length }), { maxLength: 40 }), async (at) => {
      expect((await decodeAll(cut(bytes, at), options, path)).equals(want)).toBe(true);
    }), { numRuns: 40 });
  });

  it('UTF-16 of any text, cut anywhere, is its UTF-8 (fast-check)', async () => {
    await fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 60 }), fc.boolean(), fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 6 }), (text, be, at) => {
      const bytes = be ? utf16be(text) : Buffer.from(text, 'utf16le');
      const decoder = new Utf16ToUtf8(be);
      const got = Buffer.concat([...cut(bytes, at).map((c) => decoder.push(c)), decoder.end()]);
      expect(got.equals(Buffer.from(text, 'utf8'))).toBe(true);
    }), { numRuns: 300 });
  });

  it('Windows-1252 and Latin-1 of any text in their repertoire is its UTF-8 (fast-check)', async () => {
    const latin1 = fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 80 });
    const win = fc.string({ unit: fc.constantFrom(...'aZ09,;"\n\r\té ÿß×', ...CP1252_C1), maxLength: 80 });
    await fc.assert(fc.asyncProperty(latin1, win, async (l, w) => {
      // a leading UTF-16 pattern or UTF-8 BOM is refused as a contradiction (tested below); keep the text plain
      fc.pre(!l.startsWith('\xef\xbb\xbf') && !/\0/.test(l) && !/^[\xfe\xff]/.test(l) && !/^[\xfe\xff\0]/.test(w));
      expect((await decodeAll([Buffer.from(`x${l}`, 'latin1')], csv('latin1'))).toString('utf8')).toBe(`x${l}`);
      expect((await decodeAll([cp1252(`x${w}`)], csv('windows-1252'))).toString('utf8')).toBe(`x${w}`);
    }), { numRuns: 200 });
  });

  it('a lone surrogate or a cut last character becomes a byte that is not UTF-8 (its record will be refused)', () => {
    const lone = new Utf16ToUtf8(false);
    const out = Buffer.concat([lone.push(Buffer.from([0x61, 0x00, 0x00, 0xd8, 0x62, 0x00])), lone.end()]);
    expect([...out]).toEqual([0x61, 0xff, 0x62]);
    const cutShort = new Utf16ToUtf8(true);
    expect([...Buffer.concat([cutShort.push(Buffer.from([0x00, 0x61, 0xd8, 0x3d])), cutShort.end()])]).toEqual([0x61, 0xff]);
    const odd = new Utf16ToUtf8(false);
    expect([...Buffer.concat([odd.push(Buffer.from([0x61, 0x00, 0x62])), odd.end()])]).toEqual([0x61, 0xff]);
  });

  it('UTF-8 from a plain file passes through as the same buffers (no copy)', async () => {
    const chunks = [Buffer.from(SAMPLE), Buffer.from(SAMPLE)];
    const out: Buffer[] = [];
    for await (const c of decodeChunks(source(chunks).raw, csv('utf-8'), 'f.csv')) out.push(c);
    expect(out).toHaveLength(2);
    expect(out[0]).toBe(chunks[0]);
    expect(out[1]).toBe(chunks[1]);
  });

  it('a consumer that stops early closes the file source (plain and gzip)', async () => {
    for (const [bytes, size] of [[Buffer.from(SAMPLE.repeat(20)), 5000], [gzipSync(Buffer.from(SAMPLE.repeat(400))), 2000]] as const) {
      const { raw, state } = source(cut(bytes, Array.from({ length: 20 }, (_, i) => (i + 1) * size)));
      for await (const _ of decodeChunks(raw, csv('utf-8'), 'f.csv')) break;
      expect(state.closed).toBe(true);
      expect(state.pulled).toBeLessThan(21);
    }
  });
});

describe('decodeChunks: broken or contradicting files fail, naming the cause', () => {
  const gz = gzipSync(Buffer.from(SAMPLE.repeat(50)));

  it('a truncated or corrupt gzip fails FILE_UNREADABLE and lets go of the file', async () => {
    const truncated = await failure(cut(gz.subarray(0, gz.length - 100), [1000, 3000]), csv('utf-8'));
    expect(truncated).toMatchObject({ code: 'FILE_UNREADABLE', closed: true });
    expect(truncated.message).toMatch(/f\.csv: cannot be read as gzip \(unexpected end of file\).*cut short/);
    const corrupt = Buffer.from(gz);
    corrupt[200] ^= 0xff;
    expect(await failure([corrupt], csv('utf-8'))).toMatchObject({ code: 'FILE_UNREADABLE', message: expect.stringMatching(/cannot be read as gzip/) });
  });

  it('a truncated or corrupt zstd fails FILE_UNREADABLE', async () => {
    const zst = execFileSync('zstd', ['-q', '-c'], { input: Buffer.from(SAMPLE.repeat(50)) });
    expect(await failure([zst.subarray(0, zst.length - 20)], csv('utf-8', 'zstd'))).toMatchObject({ code: 'FILE_UNREADABLE', message: expect.stringMatching(/cannot be read as zstd/) });
    expect(await failure([Buffer.from(SAMPLE)], csv('utf-8', 'zstd'))).toMatchObject({ code: 'FILE_UNREADABLE', message: expect.stringMatching(/cannot be read as zstd/) });
  });

  it("gzip read with compression 'none' names the option", async () => {
    const f = await failure([gz], csv('utf-8', 'none'));
    expect(f).toMatchObject({ code: 'FILE_UNREADABLE', closed: true });
    expect(f.message).toContain("gzip-compressed (by its first bytes) but csv.compression is 'none': set csv.compression: 'auto'");
  });

  it('a .gz name on bytes that are not gzip fails; a zip archive is named', async () => {
    expect((await failure([Buffer.from(SAMPLE)], csv('utf-8'), 'in/f.csv.gz')).message).toMatch(/named as gzip but its bytes are not .*csv\.compression: 'none'/);
    expect((await failure([Buffer.from('PK\x03\x04\x14\x00', 'latin1')], csv('utf-8'))).message).toMatch(/is a zip archive/);
  });

  it('UTF-16 read as UTF-8 or Latin-1 names the encoding to set (BOM, or NUL every other byte)', async () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(SAMPLE_16, 'utf16le')]);
    expect((await failure([le], csv('utf-8'))).message).toContain("looks like UTF-16LE (it starts with a UTF-16LE byte-order mark) but csv.encoding is 'utf-8': set csv.encoding: 'utf-16le'");
    expect((await failure([utf16be(SAMPLE)], csv('latin1'))).message).toContain("looks like UTF-16BE (a NUL byte precedes most characters) but csv.encoding is 'latin1': set csv.encoding: 'utf-16be'");
    expect((await failure([Buffer.from(SAMPLE_16, 'utf16le')], csv('utf-16be'))).message).toContain("set csv.encoding: 'utf-16le'");
  });

  it('UTF-8 read as UTF-16 is named; so is a UTF-8 BOM read as Windows-1252', async () => {
    expect((await failure([Buffer.from(SAMPLE)], csv('utf-16le'))).message).toMatch(/is not UTF-16 \(no NUL byte in its first 4096 bytes.*set csv\.encoding: 'utf-8'/);
    expect((await failure([cp1252(SAMPLE)], csv('utf-16'))).message).toMatch(/is not UTF-16 .*'windows-1252'/);
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(SAMPLE)]);
    expect((await failure([bom], csv('windows-1252'))).message).toContain("starts with a UTF-8 byte-order mark but csv.encoding is 'windows-1252': set csv.encoding: 'utf-8'");
  });

  it('UTF-16 text of CJK characters (NUL bytes on both sides) is not taken for a contradiction', () => {
    const cjk = Buffer.from('名前,一丁\n一,丁\n'.repeat(40), 'utf16le');
    expect(encodingContradiction(cjk, 'utf-16le')).toBeNull();
    expect(encodingContradiction(cjk, 'utf-16')).toContain("no byte-order mark, so csv.encoding 'utf-16' cannot tell its byte order: set csv.encoding: 'utf-16le' or 'utf-16be'");
    expect(encodingContradiction(Buffer.from('id,name\n1,x\n'.repeat(40), 'utf16le'), 'utf-16le')).toBeNull();
  });
});

describe('hints', () => {
  it('records of Windows-1252 read as UTF-8: hint() says so and names csv.encoding', async () => {
    const bytes = cp1252(`${'id,name\n1,plain\n'.repeat(400)}2,Café “Noir”\n`);
    const decoded = decodeChunks(source(cut(bytes, [3000, 6000])).raw, csv('utf-8'), 'f.csv');
    expect(decoded.hint()).toBeNull();
    const out: Buffer[] = [];
    for await (const c of decoded) out.push(c);
    expect(Buffer.concat(out).equals(bytes)).toBe(true);
    expect(decoded.hint()).toBe('bytes that are not UTF-8 (first 0xe9) read as Windows-1252 text "2,Café “Noir”": the file looks like ' +
      "Windows-1252 or Latin-1; set csv.encoding: 'windows-1252' (or 'latin1')");
  });

  it('valid UTF-8 cut inside a character gives no hint; bytes 0x80–0x9F name Windows-1252 only; binary gives none', async () => {
    const text = Buffer.from('é€🎉'.repeat(3000));
    const decoded = decodeChunks(source(cut(text, [4097, 5001, 7002])).raw, csv('utf-8'), 'f.csv');
    for await (const _ of decoded) void _;
    expect(decoded.hint()).toBeNull();
    expect(encodingHint(cp1252('a “b” c'))).toMatch(/looks like Windows-1252; set csv\.encoding: 'windows-1252'$/);
    expect(encodingHint(Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff, 0x03]))).toBeNull();
  });

  it('a header that splits into the declared columns on another delimiter names it', () => {
    expect(delimiterHint(['id;name;city'], ',', ['id', 'name', 'city'])).toBe("the header splits into the expected columns on ';': set csv.delimiter: ';'");
    expect(delimiterHint(['id\tname\tcity'], ',', ['id', 'name'])).toBe("the header splits into the expected columns on '\\t': set csv.delimiter: '\\t'");
    expect(delimiterHint(['id,name,city'], ';', ['id', 'name'])).toBe("the header splits into the expected columns on ',': set csv.delimiter: ','");
    expect(delimiterHint(['id;nom;ville'], ',', ['id', 'name'])).toBeNull();
  });
});
