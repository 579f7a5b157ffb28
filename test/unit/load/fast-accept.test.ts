import { describe, expect, it } from 'vitest';
import { columnFn, csvEscaper } from '../../../jobs/load/column-types.ts';
import { compileRawRow, rangeCheck } from '../../../jobs/load/fast-accept.ts';
import { loadOptions, type LoadOptionsInput } from '../../../jobs/load/options.ts';

type ColumnInput = LoadOptionsInput['columns'][number];
const escape = csvEscaper(',', '"');

const COLUMNS: ColumnInput[] = [
  { name: 'i', type: 'integer', min: -5, max: 1_000_000 },
  { name: 'i0', type: 'integer', coerce: ['negative_zero', 'thousands_separator', 'trim'] },
  { name: 'b', type: 'bigint' },
  { name: 'n', type: 'numeric', precision: 6, scale: 2, max: 5000 },
  { name: 'n0', type: 'numeric', precision: 6, scale: 2, coerce: ['negative_zero'] },
  { name: 't', type: 'text', maxLength: 4, minLength: 2 },
  { name: 'tt', type: 'text', coerce: ['trim'] },
  { name: 'p', type: 'pattern', regex: '^[A-Z]-\\d$' },
  { name: 'e', type: 'enum', values: ['A', 'B', 'c d'] },
  { name: 'eu', type: 'enum', values: ['A', 'B'], coerce: ['uppercase'] },
  { name: 'd', type: 'date', min: '2000-01-01' },
  { name: 'df', type: 'date', formats: ['DD/MM/YYYY', 'YYYY-MM-DD'] },
  { name: 'ts', type: 'timestamp' },
  { name: 'tz', type: 'timestamptz' },
  { name: 'bo', type: 'boolean' },
  { name: 'u', type: 'uuid' },
];

const VALUES = [
  '0', '-0', '+0', '-0.00', '7', '+7', '-5', '-6', '1000000', '1000001', '2147483647', '2147483648', '99999999999', '007',
  '1,000', ' 12', '12 ', '1.5', '1.50', '1.505', '1234.5', '12345', '5000', '5000.01', '.5', '5.', '-', '+', '.', 'abc',
  '9223372036854775807', '9223372036854775808', '123456789012345', '1234567890123456',
  'ab', 'abcd', 'abcde', 'a', '😀😀', '😀', '\\.', ' x ', 'x', 'A-1', 'A-12', 'A', 'B', 'a', 'c d', 'C',
  '2024-02-29', '2023-02-29', '1999-12-31', '2000-01-01', '13/05/2025', '2025-13-01', '2025-1-1', '20250513',
  '2025-05-13T06:00:00', '2025-05-13 06:00:00.123456', '2025-05-13T06:00:00Z', '2025-05-13T06:00:00+02:00', '2025-05-13T25:00',
  't', 'f', 'true', 'T', 'yes', '4a0e8c3e-1f7b-4a8e-9a43-2f1c3d5e6f70', '4A0E8C3E-1F7B-4A8E-9A43-2F1C3D5E6F70',
  '4a0e8c3e-1f7b-4a8e-9a43-2f1c3d5e6f7g', '4a0e8c3e1f7b4a8e9a432f1c3d5e6f70abcd',
];

describe('accept-as-is checks agree with the full column checks', () => {
  const specs = loadOptions.parse({ source: { file: 'x' }, target: 't', columns: COLUMNS }).columns;

  for (const spec of specs) {
    it(`${spec.name} (${spec.type}): accepted as is ⇒ the full check returns the value unchanged`, () => {
      const fn = columnFn(spec, () => undefined, escape);
      const check = rangeCheck(spec, fn, escape);
      let accepted = 0;
      for (const v of VALUES) {
        const padded = `xx${v}yy`; // the range, not the whole string, is checked
        if (check(padded, 2, 2 + v.length)) {
          accepted++;
          expect(fn(v), `${spec.name} ${JSON.stringify(v)}`).toBe(v);
        }
      }
      expect(accepted).toBeGreaterThan(0);
    });
  }

  it('timestamps: accepted as is exactly when the full check returns the value unchanged', () => {
    const stamps = [
      '2025-05-13T06:00', '2025-05-13 06:00:59', '2025-05-13T06:00:00.1', '2025-05-13T06:00:00.123456', '2025-05-13T06:00:00.1234567',
      '2025-05-13T06:00:00.', '2025-05-13T06:00:0', '2025-05-13T06:00:60', '2025-05-13T24:00', '2025-05-13T06:60', '2025-02-29T06:00',
      '2024-02-29T06:00', '2025-05-13X06:00', '2025-5-13T06:00', '2025-05-13T06:00Z', '2025-05-13T06:00:00.066Z', '2025-05-13T06:00+02',
      '2025-05-13T06:00-0230', '2025-05-13T06:00+02:30', '2025-05-13T06:00+2', '2025-05-13T06:00+02:3', '2025-05-13T06:00+02:300',
      '2025-05-13T06:00Zx', '2025-13-45T25:61:00Z', '20250513T99:99',
    ];
    for (const type of ['timestamp', 'timestamptz'] as const) {
      const [spec] = loadOptions.parse({ source: { file: 'x' }, target: 't', columns: [{ name: 'at', type }] }).columns;
      const fn = columnFn(spec, () => undefined, escape);
      const check = rangeCheck(spec, fn, escape);
      for (const v of stamps) expect(check(`,${v},`, 1, 1 + v.length), `${type} ${v}`).toBe(fn(v) === v);
    }
  });

  it('a raw row passes only with the right field count, and empty fields only for optional columns', () => {
    const row = loadOptions.parse({
      source: { file: 'x' }, target: 't',
      columns: [{ name: 'a', type: 'integer' }, { name: 'b', type: 'text', required: false }, { name: 'c', type: 'uuid' }],
    }).columns;
    const raw = compileRawRow(row.map((c) => rangeCheck(c, columnFn(c, () => undefined, escape), escape)), row.map((c) => c.required), ',');
    const u = '4a0e8c3e-1f7b-4a8e-9a43-2f1c3d5e6f70';
    expect(raw(`1,x,${u}`)).toBe(true);
    expect(raw(`1,,${u}`)).toBe(true);
    expect(raw(`,x,${u}`)).toBe(false);
    expect(raw(`1,x`)).toBe(false);
    expect(raw(`1,x,${u},`)).toBe(false);
    expect(raw(`1,x,${u}x`)).toBe(false);
  });
});
