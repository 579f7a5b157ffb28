/**
 * Report values: Postgres text → JSON-friendly values (ints and floats as numbers, booleans,
 * json parsed; numeric, dates and timestamps stay exact strings) → CSV cells with formula
 * injection escaped (OWASP): a cell starting with = + - @ tab or CR gets a leading `'`,
 * except plain numbers such as -12.5, which stay numbers.
 */
import type { Json } from '../../engine/types.ts';

const NUMBER_OIDS = new Set([21, 23, 26, 700, 701]); // int2, int4, oid, float4, float8
const INT8_OID = 20;
const BOOL_OID = 16;
const JSON_OIDS = new Set([114, 3802]);

function parseValue(oid: number, text: string): Json {
  if (NUMBER_OIDS.has(oid)) return Number(text);
  if (oid === INT8_OID) {
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : text;
  }
  if (oid === BOOL_OID) return text === 't';
  if (JSON_OIDS.has(oid)) return JSON.parse(text) as Json;
  return text;
}

/** pg `types` option for report queries: every value parsed by `parseValue`. */
export const REPORT_TYPES = {
  getTypeParser: (oid: number) => (text: string) => parseValue(oid, text),
};

const FORMULA_START = /^[=+\-@\t\r]/;
const PLAIN_NUMBER = /^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

/** `=SUM(A1)` → `'=SUM(A1)`; `-12.5` and `hello` unchanged. */
export function escapeFormula(cell: string): string {
  return FORMULA_START.test(cell) && !PLAIN_NUMBER.test(cell) ? `'${cell}` : cell;
}

/** One value as CSV cell text (before quoting, which the CSV formatter does). */
export function toCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return escapeFormula(JSON.stringify(value));
  return escapeFormula(String(value));
}
