/**
 * Deterministic invoice-items CSV for the load benchmark: 8 columns (uuid key, text, integer, text,
 * integer, numeric(12,2), numeric(14,2), date), 1 row in 100 invalid in one of several planted ways.
 * Writes the full file and the valid-rows-only file (the raw COPY baseline); returns the truth.
 */
import fs from 'node:fs';
import { once } from 'node:events';

export const HEADER = 'item_id,invoice_id,quantity,description,line_no,unit_price,amount,invoice_date';

export const BENCH_COLUMNS = [
  { name: 'item_id', type: 'uuid' },
  { name: 'invoice_id', type: 'text', maxLength: 32 },
  { name: 'quantity', type: 'integer', min: 0 },
  { name: 'description', type: 'text', maxLength: 200 },
  { name: 'line_no', type: 'integer', min: 1 },
  { name: 'unit_price', type: 'numeric', precision: 12, scale: 2 },
  { name: 'amount', type: 'numeric', precision: 14, scale: 2 },
  { name: 'invoice_date', type: 'date' },
] as const;

export const TABLE_DDL = `(item_id uuid PRIMARY KEY, invoice_id varchar(32) NOT NULL, quantity integer NOT NULL,
  description varchar(200) NOT NULL, line_no integer NOT NULL, unit_price numeric(12,2) NOT NULL,
  amount numeric(14,2) NOT NULL, invoice_date date NOT NULL)`;

export const INVALID_KINDS = [
  'bad_uuid', 'bad_integer', 'scale', 'bad_date', 'required', 'field_count', 'stray_quote', 'nul_byte',
  'invalid_utf8', 'three_bad_columns',
] as const;

export interface PlantedTruth {
  rows: number;
  valid: number;
  invalid: number;
  byKind: Record<string, number>;
}

/** Small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (r: () => number, n: number) => {
  let s = '';
  for (let i = 0; i < n; i++) s += ((r() * 16) | 0).toString(16);
  return s;
};
const WORDS = ['Widget', 'Gadget', 'Service fee', 'Cable', 'Adapter', 'License', 'Support, premium', 'Shipping', 'Box "XL"', 'Battery'];

export async function writeBenchFiles(rows: number, fullPath: string, validPath: string | null, seed = 42): Promise<PlantedTruth> {
  const r = prng(seed);
  const full = fs.createWriteStream(fullPath);
  const valid = validPath ? fs.createWriteStream(validPath) : null;
  const byKind: Record<string, number> = {};
  let fullBuf: Buffer[] = [Buffer.from(`${HEADER}\n`)];
  let validBuf = `${HEADER}\n`;
  let invalid = 0;
  for (let i = 0; i < rows; i++) {
    const uuid = `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-a${hex(r, 3)}-${hex(r, 12)}`;
    const word = WORDS[(r() * WORDS.length) | 0];
    const desc = word.includes(',') || word.includes('"') ? `"${word.replace(/"/g, '""')} ${i % 97}"` : `${word} ${i % 97}`;
    const qty = 1 + ((r() * 50) | 0);
    const price = `${(r() * 1000) | 0}.${String((r() * 100) | 0).padStart(2, '0')}`;
    const amount = `${(r() * 100000) | 0}.${String((r() * 100) | 0).padStart(2, '0')}`;
    const date = `2025-${String(1 + ((r() * 12) | 0)).padStart(2, '0')}-${String(1 + ((r() * 28) | 0)).padStart(2, '0')}`;
    const fields = [uuid, `INV-${100000 + ((r() * 50000) | 0)}`, String(qty), desc, String(1 + (i % 9)), price, amount, date];
    if (i % 100 === 57) {
      const kind = INVALID_KINDS[Math.floor(i / 100) % INVALID_KINDS.length];
      byKind[kind] = (byKind[kind] ?? 0) + 1;
      invalid++;
      let line: Buffer;
      switch (kind) {
        case 'bad_uuid': fields[0] = uuid.slice(0, 30); break;
        case 'bad_integer': fields[2] = 'twelve'; break;
        case 'scale': fields[5] = `${price}5`; break;
        case 'bad_date': fields[7] = '2025-02-30'; break;
        case 'required': fields[3] = ''; break;
        case 'field_count': fields.pop(); break;
        case 'stray_quote': fields[3] = `"${word.replace(/[",]/g, '')} 5" long"`; break; // text after a quote in a quoted field
        case 'nul_byte': fields[3] = `Null\0byte`; break;
        case 'three_bad_columns': fields[0] = 'x'; fields[2] = '-'; fields[7] = '13/13/2025'; break;
      }
      if (kind === 'invalid_utf8') {
        line = Buffer.concat([Buffer.from(`${fields.slice(0, 3).join(',')},Bad `), Buffer.from([0xff, 0xfe]), Buffer.from(` byte,${fields.slice(4).join(',')}\n`)]);
      } else line = Buffer.from(`${fields.join(',')}\n`);
      fullBuf.push(line);
    } else {
      const line = `${fields.join(',')}\n`;
      fullBuf.push(Buffer.from(line));
      validBuf += line;
    }
    if (fullBuf.length >= 8192) {
      if (!full.write(Buffer.concat(fullBuf))) await once(full, 'drain');
      fullBuf = [];
      if (valid && !valid.write(validBuf)) await once(valid, 'drain');
      validBuf = '';
    }
  }
  full.end(Buffer.concat(fullBuf));
  valid?.end(validBuf);
  await Promise.all([once(full, 'finish'), valid ? once(valid, 'finish') : null]);
  return { rows, valid: rows - invalid, invalid, byKind };
}
