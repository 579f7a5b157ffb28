/**
 * Windows-1252 (the WHATWG mapping: Latin-1 with printable characters at 0x80–0x9F, the five unused
 * bytes kept as their C1 controls). Our own table: Node 20's TextDecoder('windows-1252') decodes Latin-1.
 */

/** Code points of bytes 0x80–0x9F; every other byte is the code point of its number. */
const C1 = [
  0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f,
  0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
];

const codePoint = (b: number) => (b >= 0x80 && b <= 0x9f ? C1[b - 0x80] : b);

/** UTF-8 bytes of each byte 0x80–0xFF (2 or 3 of them), packed low byte first. */
const UTF8 = Array.from({ length: 128 }, (_, i) => {
  const cp = codePoint(0x80 + i);
  return cp < 0x800
    ? (0xc0 | (cp >> 6)) | ((0x80 | (cp & 0x3f)) << 8) | (2 << 24)
    : (0xe0 | (cp >> 12)) | ((0x80 | ((cp >> 6) & 0x3f)) << 8) | ((0x80 | (cp & 0x3f)) << 16) | (3 << 24);
});

/** Windows-1252 bytes → UTF-8 bytes (no state: every byte is one character). */
export function windows1252ToUtf8(b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(b.length * 3);
  let o = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c < 0x80) {
      out[o++] = c;
      continue;
    }
    const u = UTF8[c - 0x80];
    out[o++] = u & 0xff;
    out[o++] = (u >> 8) & 0xff;
    if (u >>> 24 === 3) out[o++] = (u >> 16) & 0xff;
  }
  return out.subarray(0, o);
}

/** Windows-1252 bytes → text. */
export function decodeWindows1252(b: Buffer): string {
  let s = '';
  for (const c of b) s += String.fromCharCode(codePoint(c));
  return s;
}
