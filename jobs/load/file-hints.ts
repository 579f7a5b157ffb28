/**
 * What a file's bytes say about it when they contradict the DAG's csv options: compressed, UTF-16,
 * not UTF-16, another 8-bit encoding, another delimiter. Pure functions over a few bytes or the
 * header; each returns the likely cause and the option to set, or null when nothing stands out.
 */
import { isUtf8 } from 'node:buffer';
import { decodeWindows1252 } from './windows-1252.ts';

export type Compression = 'gzip' | 'zstd';
export type Utf16 = 'utf-16le' | 'utf-16be';

/** Bytes the sniffers look at: enough for a header line, a handful of rows. */
export const SNIFF_BYTES = 4096;

const FORMATS: Array<{ name: string; magic: RegExp; reads?: Compression }> = [
  { name: 'gzip', magic: /^\x1f\x8b\x08/, reads: 'gzip' },
  { name: 'zstd', magic: /^\x28\xb5\x2f\xfd/, reads: 'zstd' },
  { name: 'a zip archive', magic: /^PK\x03\x04/ },
  { name: 'bzip2', magic: /^BZh[1-9]1AY&SY/ },
  { name: 'xz', magic: /^\xfd7zXZ\x00/ },
];

/** The compressed format `head` starts with (`reads`: one the load decompresses), or null. */
export function compressedFormat(head: Buffer): { name: string; reads?: Compression } | null {
  const start = head.subarray(0, 16).toString('latin1');
  return FORMATS.find((f) => f.magic.test(start)) ?? null;
}

/** UTF-16 by its byte-order mark, or by a NUL byte beside most characters (ASCII text in UTF-16). */
export function utf16Of(head: Buffer): { encoding: Utf16; why: string } | null {
  if (head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', why: 'it starts with a UTF-16LE byte-order mark' };
  if (head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', why: 'it starts with a UTF-16BE byte-order mark' };
  const pairs = Math.min(head.length, SNIFF_BYTES) >> 1;
  if (pairs < 4) return null;
  let nulFirst = 0;
  let nulSecond = 0;
  for (let i = 0; i < pairs * 2; i += 2) {
    if (head[i] === 0 && head[i + 1] !== 0) nulFirst++;
    else if (head[i] !== 0 && head[i + 1] === 0) nulSecond++;
  }
  // CJK characters such as U+4E00 put a NUL on the other side; ASCII letters, digits and line ends dominate a CSV
  if (nulSecond >= pairs / 2 && nulFirst * 8 < nulSecond) return { encoding: 'utf-16le', why: 'a NUL byte follows most characters' };
  if (nulFirst >= pairs / 2 && nulSecond * 8 < nulFirst) return { encoding: 'utf-16be', why: 'a NUL byte precedes most characters' };
  return null;
}

const UTF8_BOM = (head: Buffer) => head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf;

/**
 * Why `head` (the file's first bytes, decompressed) cannot be in `encoding`, as `what; the way
 * out`; null when it may be. Each verdict is one a CSV file in that encoding cannot produce.
 */
export function encodingContradiction(head: Buffer, encoding: string): string | null {
  const utf16 = utf16Of(head);
  if (!encoding.startsWith('utf-16')) {
    if (utf16) return `the file looks like ${label(utf16.encoding)} (${utf16.why}) but csv.encoding is '${encoding}': set csv.encoding: '${utf16.encoding}'`;
    if (encoding !== 'utf-8' && encoding !== 'utf8' && UTF8_BOM(head)) {
      return `the file starts with a UTF-8 byte-order mark but csv.encoding is '${encoding}': set csv.encoding: 'utf-8'`;
    }
    return null;
  }
  if (utf16 && encoding !== 'utf-16' && utf16.encoding !== encoding) {
    return `the file looks like ${label(utf16.encoding)} (${utf16.why}) but csv.encoding is '${encoding}': set csv.encoding: '${utf16.encoding}'`;
  }
  if (utf16) return null;
  const span = head.subarray(0, SNIFF_BYTES);
  if (UTF8_BOM(head) || (span.indexOf(0) === -1 && span.indexOf(10) !== -1)) {
    const why = UTF8_BOM(head) ? 'it starts with a UTF-8 byte-order mark' : `no NUL byte in its first ${span.length} bytes, though UTF-16 puts one beside every line end`;
    const guess = firstInvalidUtf8(span) === -1 ? "'utf-8'" : "the 8-bit encoding it is in ('windows-1252', 'latin1')";
    return `the file is not UTF-16 (${why}) but csv.encoding is '${encoding}': set csv.encoding: ${guess}`;
  }
  if (encoding === 'utf-16') return "the file has no byte-order mark, so csv.encoding 'utf-16' cannot tell its byte order: set csv.encoding: 'utf-16le' or 'utf-16be'";
  return null;
}

const label = (e: Utf16) => (e === 'utf-16le' ? 'UTF-16LE' : 'UTF-16BE');

/** Where the first byte that is not UTF-8 is in `bytes` (a character cut at either end is fine), or -1. */
export function firstInvalidUtf8(bytes: Buffer): number {
  let i = 0;
  while (i < 3 && i < bytes.length && (bytes[i] & 0xc0) === 0x80) i++; // the tail of a character cut at the start
  const n = bytes.length;
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    const need = b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (need < 0) return i;
    if (i + need >= n) return isUtf8Prefix(bytes.subarray(i)) ? -1 : i;
    if (!isUtf8(bytes.subarray(i, i + need + 1))) return i;
    i += need + 1;
  }
  return -1;
}

/** True when `tail` is the start of a valid multi-byte character (cut by the chunk's end). */
function isUtf8Prefix(tail: Buffer): boolean {
  for (let k = 1; k < tail.length; k++) if ((tail[k] & 0xc0) !== 0x80) return false;
  return true;
}

/**
 * For bytes around the first one that is not UTF-8: when they read as Windows-1252 / Latin-1 text,
 * says so with that text and the option to set; null when they look like no text at all.
 */
export function encodingHint(sample: Buffer): string | null {
  const at = firstInvalidUtf8(sample);
  if (at === -1) return null;
  const text = decodeWindows1252(sample);
  if (/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x81\x8d\x8f\x90\x9d]/.test(text)) return null;
  const byte = sample[at];
  const c1 = byte >= 0x80 && byte <= 0x9f;
  const shown = text.replace(/[\r\n]+/g, ' ').trim().slice(0, 60);
  return `bytes that are not UTF-8 (first 0x${byte.toString(16)}) read as Windows-1252 text "${shown}": the file looks like ` +
    `${c1 ? 'Windows-1252' : 'Windows-1252 or Latin-1'}; set csv.encoding: 'windows-1252'${c1 ? '' : " (or 'latin1')"}`;
}

const DELIMITERS = [',', ';', '\t', '|'];
const shownDelimiter = (d: string) => (d === '\t' ? '\\t' : d);

/**
 * The header split on `delimiter` lacks columns the DAG declares: when another common delimiter
 * splits it into all of `wanted`, names it and the option to set.
 */
export function delimiterHint(fields: string[], delimiter: string, wanted: string[]): string | null {
  if (wanted.length === 0) return null;
  const line = fields.join(delimiter);
  for (const d of DELIMITERS) {
    if (d === delimiter || !line.includes(d)) continue;
    const names = new Set(line.split(d).map((f) => f.trim().replace(/^"(.*)"$/, '$1')));
    if (wanted.every((w) => names.has(w))) {
      return `the header splits into the expected columns on '${shownDelimiter(d)}': set csv.delimiter: '${shownDelimiter(d)}'`;
    }
  }
  return null;
}
