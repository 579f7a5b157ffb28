/**
 * Compressed and non-UTF-8 extracts through the real load handler: each version of a file loads
 * exactly the rows of its UTF-8 original (table contents compared in SQL, and against the
 * generator's own values); a truncated .gz loads nothing; a file that contradicts its options fails
 * naming the likely cause and the option to set.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { countIfExists, query, runLoad, tempDir, writeFile } from './helpers.ts';

let database: TestDatabase;
let dir: string;
beforeAll(async () => {
  database = await createTestDatabase();
  dir = await tempDir('encodings');
});
afterAll(async () => {
  await database.drop();
  await fs.rm(dir, { recursive: true, force: true });
});

const COLUMNS = [
  { name: 'id', type: 'integer' },
  { name: 'name', type: 'text' },
  { name: 'city', type: 'text' },
  { name: 'note', type: 'text', required: false },
] as const;
const ROWS = 6000;

/** The original's rows (a repertoire every encoding under test can hold unless `extra`), and its CSV text. */
function original(extra: string[] = []) {
  const names = ['Zoë', 'Ærøskøbing', 'façade', 'Müller', 'Ñandú', 'plain', 'Straße', '½ × ¾', ...extra];
  const rows = Array.from({ length: ROWS }, (_, i) => ({
    id: i + 1,
    name: `${names[i % names.length]} ${i}`,
    city: i % 7 === 0 ? `Köln, "Altstadt"\nNord` : `Genève ${i % 13}`,
    note: i % 11 === 0 ? null : `n°${i} ${names[(i * 3) % names.length]}`,
  }));
  const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const text = `id,name,city,note\n${rows.map((r) => [r.id, quote(r.name), quote(r.city), r.note ?? ''].join(',')).join('\r\n')}\r\n`;
  return { rows, text };
}

// Windows-1252 bytes from a literal table of 0x80–0x9F (independent of the decoder's own table).
const CP1252_C1 = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ';
const cp1252 = (text: string) => Buffer.from([...text].map((ch) => (CP1252_C1.includes(ch) ? 0x80 + CP1252_C1.indexOf(ch) : (ch.codePointAt(0) as number))));

const load = (file: string, target: string, csv: object = {}, extra: object = {}) =>
  runLoad(database, { source: { file }, target, columns: COLUMNS as never, csv, ...extra });

/** Rows in `a` not in `b` plus rows in `b` not in `a` (multiset difference, both ways). */
async function difference(a: string, b: string): Promise<number> {
  const [row] = await query<{ n: number }>(database,
    `SELECT ((SELECT count(*) FROM (TABLE ${a} EXCEPT ALL TABLE ${b}) x) + (SELECT count(*) FROM (TABLE ${b} EXCEPT ALL TABLE ${a}) y))::int AS n`);
  return row.n;
}

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  return promise.then(() => ({ code: 'none', message: 'the load succeeded' }), (e: unknown) => e as { code: string; message: string });
}

describe('load: compressed and non-UTF-8 extracts load the rows of their UTF-8 original', () => {
  const latin = original();
  const win = original(['“Le Café”', '€ 5 – net', 'Œuvre™']);

  beforeAll(async () => {
    const utf8 = await writeFile(dir, 'latin-utf8.csv', latin.text);
    expect(await load(utf8, 'enc_utf8')).toMatchObject({ rows_read: ROWS, rows_loaded: ROWS, rows_rejected: 0 });
    const winUtf8 = await writeFile(dir, 'win-utf8.csv', win.text);
    expect(await load(winUtf8, 'enc_win_utf8')).toMatchObject({ rows_read: ROWS, rows_loaded: ROWS, rows_rejected: 0 });
  });

  it('the UTF-8 originals hold the generator\'s rows', async () => {
    for (const [table, truth] of [['enc_utf8', latin], ['enc_win_utf8', win]] as const) {
      const rows = await query<{ id: number; name: string; city: string; note: string | null }>(database, `SELECT * FROM ${table} ORDER BY id`);
      expect(rows).toEqual(truth.rows);
    }
  });

  const VERSIONS: Array<{ name: string; file: string; bytes: () => Buffer; csv: object; like: 'enc_utf8' | 'enc_win_utf8' }> = [
    { name: 'gzip (.csv.gz)', file: 'a.csv.gz', bytes: () => gzipSync(Buffer.from(latin.text)), csv: {}, like: 'enc_utf8' },
    { name: 'gzip found by its magic bytes (no .gz)', file: 'a-gz.csv', bytes: () => gzipSync(Buffer.from(latin.text)), csv: {}, like: 'enc_utf8' },
    { name: 'zstd (.csv.zst)', file: 'a.csv.zst', bytes: () => execFileSync('zstd', ['-q', '-c'], { input: Buffer.from(latin.text) }), csv: {}, like: 'enc_utf8' },
    { name: 'Latin-1', file: 'a-latin1.csv', bytes: () => Buffer.from(latin.text, 'latin1'), csv: { encoding: 'latin1' }, like: 'enc_utf8' },
    { name: 'Windows-1252', file: 'a-cp1252.csv', bytes: () => cp1252(win.text), csv: { encoding: 'windows-1252' }, like: 'enc_win_utf8' },
    { name: 'Windows-1252, gzipped', file: 'a-cp1252.csv.gz', bytes: () => gzipSync(cp1252(win.text)), csv: { encoding: 'windows-1252' }, like: 'enc_win_utf8' },
    {
      name: 'UTF-16LE with BOM', file: 'a-utf16le.csv', csv: { encoding: 'utf-16le' }, like: 'enc_win_utf8',
      bytes: () => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(win.text, 'utf16le')]),
    },
    {
      name: 'UTF-16BE with BOM (csv.encoding utf-16)', file: 'a-utf16be.csv', csv: { encoding: 'utf-16' }, like: 'enc_win_utf8',
      bytes: () => Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(win.text, 'utf16le').swap16()]),
    },
  ];

  it.each(VERSIONS)('$name: the same rows as the UTF-8 original', async ({ file, bytes, csv, like }) => {
    const target = `enc_${file.replace(/[^a-z0-9]/g, '_')}`;
    const raw = bytes();
    const path = await writeFile(dir, file, raw);
    const result = await load(path, target, csv);
    expect(result).toMatchObject({ rows_read: ROWS, rows_loaded: ROWS, rows_rejected: 0 });
    expect(await countIfExists(database, target)).toBe(ROWS);
    expect(await difference(target, like)).toBe(0);
    const [ledger] = await query<{ bytes: string; sha256: string }>(database, 'SELECT bytes, sha256 FROM load_ledger WHERE target = $1', [target]);
    expect(Number(ledger.bytes)).toBe(raw.length); // the ledger counts the file's own bytes
  });
});

describe('load: broken or contradicting files fail, nothing loaded, naming the likely cause', () => {
  const text = original().text;

  it('a truncated .csv.gz fails FILE_UNREADABLE and loads no row', async () => {
    const gz = gzipSync(Buffer.from(text));
    const file = await writeFile(dir, 'cut.csv.gz', gz.subarray(0, Math.floor(gz.length * 0.8)));
    const err = await failure(load(file, 'enc_cut'));
    expect(err.code).toBe('FILE_UNREADABLE');
    expect(err.message).toMatch(/cut\.csv\.gz: cannot be read as gzip \(unexpected end of file\)/);
    expect(await countIfExists(database, 'enc_cut')).toBe(0);
    expect(await query(database, "SELECT 1 FROM load_ledger WHERE target = 'enc_cut'")).toEqual([]);
  });

  it("a .gz read with compression 'none' names csv.compression", async () => {
    const file = await writeFile(dir, 'none.csv.gz', gzipSync(Buffer.from(text)));
    const err = await failure(load(file, 'enc_none', { compression: 'none' }));
    expect(err).toMatchObject({ code: 'FILE_UNREADABLE', message: expect.stringContaining("gzip-compressed (by its first bytes) but csv.compression is 'none': set csv.compression: 'auto'") });
    expect(await countIfExists(database, 'enc_none')).toBe(0);
  });

  it('UTF-16 read as UTF-8 names csv.encoding (with a BOM, and without one)', async () => {
    const withBom = await writeFile(dir, 'u16-bom.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    expect(await failure(load(withBom, 'enc_u16'))).toMatchObject({
      code: 'FILE_UNREADABLE', message: expect.stringContaining("looks like UTF-16LE (it starts with a UTF-16LE byte-order mark) but csv.encoding is 'utf-8': set csv.encoding: 'utf-16le'"),
    });
    const noBom = await writeFile(dir, 'u16-be.csv', Buffer.from(text, 'utf16le').swap16());
    expect((await failure(load(noBom, 'enc_u16'))).message).toContain("set csv.encoding: 'utf-16be'");
    expect(await countIfExists(database, 'enc_u16')).toBe(0);
  });

  it("a ';'-delimited file read as ',' names csv.delimiter", async () => {
    const file = await writeFile(dir, 'semi.csv', 'id;name;city;note\n1;a;b;c\n');
    const err = await failure(load(file, 'enc_semi'));
    expect(err.code).toBe('FILE_HEADER_MISMATCH');
    expect(err.message).toBe(`${file}: header lacks required columns id, name, city; the header splits into the expected columns on ';': set csv.delimiter: ';'`);
    const tabs = await writeFile(dir, 'tabs.csv', 'id\tname\tcity\tnote\n1\ta\tb\tc\n');
    expect((await failure(load(tabs, 'enc_semi'))).message).toContain("set csv.delimiter: '\\t'");
  });

  it('a wholly Windows-1252 file read as UTF-8 fails and says it looks like Windows-1252, naming csv.encoding', async () => {
    const file = await writeFile(dir, 'cp1252-as-utf8.csv', cp1252('id,name,city,note\n1,Café,Genève,x\n2,Zoë,Köln,y\n3,Müller,Zürich,z\n'));
    const err = await failure(load(file, 'enc_mis'));
    expect(err.code).toBe('LOAD_EMPTY');
    expect(err.message).toContain("the file looks like Windows-1252 or Latin-1; set csv.encoding: 'windows-1252'");
    expect(await countIfExists(database, 'enc_mis')).toBe(0);
  });
});
