/**
 * A straightforward RFC 4180 reader for the sample tests — deliberately independent of the
 * generators' writer and of the load job's parser: whole file in memory, quotes, "" escapes.
 */
import fs from 'node:fs/promises';

export interface CsvFile {
  header: string[];
  rows: string[][];
}

export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else if (ch !== '\r') field += ch;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

export async function readCsv(file: string): Promise<CsvFile> {
  const [header, ...rows] = parseCsv(await fs.readFile(file, 'utf8'));
  return { header, rows };
}

/** Rows as objects keyed by header (for files whose rows all have the header's width). */
export async function readRecords(file: string): Promise<Array<Record<string, string>>> {
  const { header, rows } = await readCsv(file);
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}

/** '12.5' / '-0.0' / '1.2345' → integer units of 10^-decimals (exact for up to `decimals` digits). */
export function toUnits(text: string, decimals: number): number {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw new Error(`not a decimal: ${text}`);
  const frac = (m[3] ?? '').padEnd(decimals, '0');
  if (frac.length > decimals) throw new Error(`more than ${decimals} decimals: ${text}`);
  const units = Number(m[2]) * 10 ** decimals + Number(frac || '0');
  return m[1] === '-' ? -units : units;
}
