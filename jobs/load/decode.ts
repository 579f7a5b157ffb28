/**
 * A file's raw bytes → the UTF-8 bytes CsvReader takes: decompressed (gzip, zstd) per
 * csv.compression, then decoded from csv.encoding, as a stream. UTF-8 from a plain file passes
 * through as read (no copy). Bytes that contradict the options (gzip with compression 'none', UTF-16
 * read as UTF-8, …) fail the file at once (FILE_UNREADABLE) naming the likely cause; so does a
 * corrupt or truncated compressed file, before its last rows could be taken for the whole file.
 */
import { isAscii, isUtf8, transcode } from 'node:buffer';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { TributaryError } from '../../engine/errors.ts';
import {
  compressedFormat, encodingContradiction, encodingHint, firstInvalidUtf8, SNIFF_BYTES, utf16Of, type Compression, type Utf16,
} from './file-hints.ts';
import type { LoadOptions } from './options.ts';
import { READ_CHUNK } from './source-file.ts';
import { windows1252ToUtf8 } from './windows-1252.ts';

type CsvOptions = Pick<LoadOptions['csv'], 'encoding' | 'compression'>;

/** Decoded chunks, and what they showed about records CsvReader will refuse as invalid UTF-8. */
export interface DecodedChunks extends AsyncIterable<Buffer> {
  /**
   * The likely cause when records were refused as invalid UTF-8 (e.g. "… the file looks like
   * Windows-1252; set csv.encoding: 'windows-1252'"), from the first such bytes read; else null.
   */
  hint(): string | null;
}

/** Decompressed output is handed on in pieces of about the read size (see READ_CHUNK). */
const OUT_CHUNK = READ_CHUNK;
/** Bytes of its line kept on either side of the first byte that is not UTF-8, for hint(). */
const SAMPLE = 40;

/**
 * Raw file bytes → UTF-8 bytes for CsvReader: decompressed (gzip, zstd) and decoded per
 * csv.encoding. A raw chunk must not change after it is yielded (the decompressors may hold it).
 */
export function decodeChunks(raw: AsyncIterable<Buffer>, csv: CsvOptions, path: string): DecodedChunks {
  const seen = { sample: null as Buffer | null };
  return {
    [Symbol.asyncIterator]: () => decode(raw, csv, path, seen)[Symbol.asyncIterator](),
    hint: () => (seen.sample === null ? null : encodingHint(seen.sample)),
  };
}

async function* decode(raw: AsyncIterable<Buffer>, csv: CsvOptions, path: string, seen: { sample: Buffer | null }): AsyncGenerator<Buffer> {
  let { head, chunks, close } = await peek(raw);
  const compression = await closingOnThrow(close, () => compressionOf(head, csv.compression, path));
  if (compression !== null) ({ head, chunks, close } = await peek(compression === 'gzip' ? gunzip(chunks, path) : unzstd(chunks, path)));
  const contradiction = encodingContradiction(head, csv.encoding);
  if (contradiction !== null) await closingOnThrow(close, () => fail(path, contradiction));
  switch (csv.encoding) {
    case 'utf-8':
    case 'utf8':
      return yield* watchUtf8(chunks, seen);
    case 'latin1':
      for await (const c of chunks) yield isAscii(c) ? c : transcode(c, 'latin1', 'utf8');
      return;
    case 'windows-1252':
      for await (const c of chunks) yield isAscii(c) ? c : windows1252ToUtf8(c);
      return;
    default:
      return yield* fromUtf16(chunks, csv.encoding === 'utf-16' ? (utf16Of(head)?.encoding ?? 'utf-16le') : csv.encoding);
  }
}

const fail = (path: string, message: string): never => {
  throw new TributaryError('FILE_UNREADABLE', `${path}: ${message}; nothing loaded`);
};

/** Runs `check`; when it throws, first closes the source (and so the file's reader) that will not be read on. */
async function closingOnThrow<T>(close: () => Promise<unknown>, check: () => T): Promise<T> {
  try {
    return check();
  } catch (err) {
    await close();
    throw err;
  }
}

interface Peeked {
  /** The first SNIFF_BYTES (fewer when the stream is shorter). */
  head: Buffer;
  /** The whole stream again, `head` first. */
  chunks: AsyncGenerator<Buffer>;
  /** Closes the source when `chunks` will not be read. */
  close: () => Promise<unknown>;
}

async function peek(source: AsyncIterable<Buffer>): Promise<Peeked> {
  const it = source[Symbol.asyncIterator]();
  const taken: Buffer[] = [];
  let size = 0;
  try {
    while (size < SNIFF_BYTES) {
      const r = await it.next();
      if (r.done) break;
      taken.push(r.value);
      size += r.value.length;
    }
  } catch (err) {
    await it.return?.();
    throw err;
  }
  const head = taken.length === 1 ? taken[0] : Buffer.concat(taken);
  async function* again(): AsyncGenerator<Buffer> {
    try {
      if (head.length > 0) yield head;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    } finally {
      await it.return?.();
    }
  }
  return { head, chunks: again(), close: async () => it.return?.() };
}

/** What to decompress the file as, or null to read it as it is; throws when name and bytes disagree. */
function compressionOf(head: Buffer, option: CsvOptions['compression'], path: string): Compression | null {
  const format = compressedFormat(head);
  if (option === 'gzip' || option === 'zstd') return option;
  if (format !== null && format.reads === undefined) {
    return fail(path, `the file is ${format.name} (by its first bytes), which the load cannot read: unpack it, or compress it with gzip or zstd`);
  }
  if (option === 'none') {
    if (format !== null) fail(path, `the file is ${format.name}-compressed (by its first bytes) but csv.compression is 'none': set csv.compression: 'auto'`);
    return null;
  }
  const named = /\.(gz|gzip)$/i.test(path) ? 'gzip' : /\.(zst|zstd)$/i.test(path) ? 'zstd' : null;
  if (named !== null && format === null) {
    const start = JSON.stringify(head.subarray(0, 16).toString('latin1'));
    fail(path, `the file is named as ${named} but its bytes are not (it starts ${start}): it may be cut short or not compressed; set csv.compression: 'none' to read it as it is`);
  }
  return format?.reads ?? null;
}

const decompressError = (path: string, format: string, err: unknown) => new TributaryError('FILE_UNREADABLE',
  `${path}: cannot be read as ${format} (${(err as Error).message}): the file is corrupt or cut short (still being written?); nothing loaded`, { cause: err });

async function* gunzip(chunks: AsyncIterable<Buffer>, path: string): AsyncGenerator<Buffer> {
  // Multi-member files (concatenated .gz) are read whole, as gunzip does.
  const out = pipeline(Readable.from(chunks, { highWaterMark: 1 }), createGunzip({ chunkSize: OUT_CHUNK }), () => undefined);
  try {
    for await (const c of out) yield c as Buffer;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) throw decompressError(path, 'gzip', err);
    throw err;
  }
}

async function* unzstd(chunks: AsyncIterable<Buffer>, path: string): AsyncGenerator<Buffer> {
  let out: Uint8Array[] = [];
  let size = 0;
  const zstd = new Decompress((data) => {
    out.push(data);
    size += data.length;
  });
  const push = (chunk: Uint8Array, final: boolean) => {
    try {
      zstd.push(chunk, final);
    } catch (err) {
      throw decompressError(path, 'zstd', err);
    }
  };
  const take = () => {
    const data = out.length === 1 ? Buffer.from(out[0].buffer, out[0].byteOffset, out[0].length) : Buffer.concat(out, size);
    out = [];
    size = 0;
    return data;
  };
  for await (const c of chunks) {
    push(c, false);
    if (size >= OUT_CHUNK) yield take();
  }
  push(new Uint8Array(0), true);
  if (size > 0) yield take();
}

/** UTF-8 passes through as read; until a chunk holds bytes that are not UTF-8, keeps a sample of them for hint(). */
async function* watchUtf8(chunks: AsyncIterable<Buffer>, seen: { sample: Buffer | null }): AsyncGenerator<Buffer> {
  for await (const c of chunks) {
    if (seen.sample === null && !isAscii(c) && !isUtf8(c)) {
      const at = firstInvalidUtf8(c);
      if (at !== -1) {
        const end = c.indexOf(10, at);
        // the line end stays in the sample: a lead byte last on its line is then invalid, not "cut short"
        seen.sample = Buffer.from(c.subarray(Math.max(c.lastIndexOf(10, at) + 1, at - SAMPLE), Math.min(end === -1 ? c.length : end + 1, at + SAMPLE)));
      }
    }
    yield c;
  }
}

/** The byte-order mark becomes UTF-8's, which CsvReader skips. */
async function* fromUtf16(chunks: AsyncIterable<Buffer>, encoding: Utf16): AsyncGenerator<Buffer> {
  const decoder = new Utf16ToUtf8(encoding === 'utf-16be');
  for await (const c of chunks) yield decoder.push(c);
  const rest = decoder.end();
  if (rest.length > 0) yield rest;
}

/** Not UTF-8 anywhere: stands for a lone surrogate or a cut last character, so CsvReader refuses its record. */
const INVALID = 0xff;

/** UTF-16 → UTF-8 across chunk boundaries (a character may be split anywhere). */
export class Utf16ToUtf8 {
  /** A byte carried over from the previous chunk, or -1. */
  private odd = -1;
  /** A high surrogate waiting for its low half, or 0. */
  private high = 0;

  constructor(private readonly bigEndian: boolean) {}

  push(b: Buffer): Buffer {
    const out = Buffer.allocUnsafe(((b.length >> 1) + 1) * 3 + 1);
    let o = 0;
    let i = 0;
    if (this.odd !== -1 && b.length > 0) {
      o = this.unit(this.bigEndian ? (this.odd << 8) | b[0] : this.odd | (b[0] << 8), out, o);
      this.odd = -1;
      i = 1;
    }
    const last = b.length - 1;
    const be = this.bigEndian;
    for (; i < last; i += 2) {
      const u = be ? (b[i] << 8) | b[i + 1] : b[i] | (b[i + 1] << 8);
      if (u < 0x80 && this.high === 0) out[o++] = u;
      else o = this.unit(u, out, o);
    }
    if (i === last) this.odd = b[last];
    return out.subarray(0, o);
  }

  /** What is left at the end of the file: an invalid byte for a cut character, else nothing. */
  end(): Buffer {
    const cut = this.odd !== -1 || this.high !== 0;
    this.odd = -1;
    this.high = 0;
    return cut ? Buffer.of(INVALID) : Buffer.alloc(0);
  }

  private unit(u: number, out: Buffer, o: number): number {
    if (this.high !== 0) {
      const high = this.high;
      this.high = 0;
      if (u >= 0xdc00 && u <= 0xdfff) {
        const cp = 0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00);
        out[o] = 0xf0 | (cp >> 18);
        out[o + 1] = 0x80 | ((cp >> 12) & 0x3f);
        out[o + 2] = 0x80 | ((cp >> 6) & 0x3f);
        out[o + 3] = 0x80 | (cp & 0x3f);
        return o + 4;
      }
      out[o++] = INVALID;
    }
    if (u < 0x80) out[o++] = u;
    else if (u < 0x800) {
      out[o++] = 0xc0 | (u >> 6);
      out[o++] = 0x80 | (u & 0x3f);
    } else if (u >= 0xd800 && u <= 0xdbff) this.high = u;
    else if (u >= 0xdc00 && u <= 0xdfff) out[o++] = INVALID;
    else {
      out[o++] = 0xe0 | (u >> 12);
      out[o++] = 0x80 | ((u >> 6) & 0x3f);
      out[o++] = 0x80 | (u & 0x3f);
    }
    return o;
  }
}
