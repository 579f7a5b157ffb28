import { describe, expect, it } from 'vitest';
import { loadOptions, type LoadOptionsInput } from '../../../jobs/load/options.ts';
import { csvEscaper } from '../../../jobs/load/column-types.ts';
import { CompiledColumns, DUPLICATE, REJECTED, RowValidator } from '../../../jobs/load/validator.ts';

type ColumnInput = LoadOptionsInput['columns'][number];

function validator(columns: ColumnInput[], suffix = '') {
  const options = loadOptions.parse({ source: { file: 'x.csv' }, target: 't', columns });
  const compiled = new CompiledColumns(options.columns, csvEscaper(',', '"'));
  const v = new RowValidator(compiled, options.columns.map((_, i) => i), options.columns.map((c) => c.name), suffix, false, ',');
  return { v, compiled };
}

/** Checks one value against one column: the COPY text, or the failing rule and message. */
function one(column: ColumnInput, value: string): { out?: string; rule?: string; message?: string } {
  const { v } = validator([column]);
  const r = v.check([value], 1, null);
  if (typeof r === 'string') return { out: r };
  return { rule: v.errors[0].rule, message: v.errors[0].message };
}

const accepts = (column: ColumnInput, cases: Array<[string, string]>) => {
  for (const [value, out] of cases) expect(one(column, value), `${column.type} ${JSON.stringify(value)}`).toEqual({ out });
};
const rejects = (column: ColumnInput, cases: Array<[string, string]>) => {
  for (const [value, rule] of cases) {
    const r = one(column, value);
    expect(r.rule, `${column.type} ${JSON.stringify(value)}`).toBe(rule);
    expect(r.message).toMatch(new RegExp(`^${column.name}: `));
  }
};

describe('column types and rules', () => {
  it('integer: sign, range of int4, min/max', () => {
    const c: ColumnInput = { name: 'qty', type: 'integer', min: 0, max: 1000 };
    accepts(c, [['0', '0'], ['42', '42'], ['+7', '+7'], ['1000', '1000']]);
    rejects(c, [['-1', 'min'], ['1001', 'max'], ['1.5', 'type'], ['abc', 'type'], ['1,000', 'type'], ['', 'required']]);
    rejects({ name: 'n', type: 'integer' }, [['2147483648', 'range'], ['99999999999', 'range']]);
    accepts({ name: 'n', type: 'integer' }, [['-2147483648', '-2147483648']]);
  });

  it('bigint: range of int8', () => {
    accepts({ name: 'b', type: 'bigint' }, [['9223372036854775807', '9223372036854775807'], ['-5', '-5']]);
    rejects({ name: 'b', type: 'bigint' }, [['9223372036854775808', 'range'], ['1e5', 'type']]);
  });

  it('numeric(precision, scale): digits, decimals, min/max', () => {
    const c: ColumnInput = { name: 'amount', type: 'numeric', precision: 6, scale: 2, min: -100 };
    accepts(c, [['1234.56', '1234.56'], ['-0.5', '-0.5'], ['.5', '.5'], ['7', '7'], ['0001.10', '0001.10'], ['1.500', '1.500']]);
    rejects(c, [['12345.6', 'precision'], ['1.234', 'scale'], ['-100.01', 'min'], ['1e3', 'type'], ['NaN', 'type'], ['1.2.3', 'type'], ['-', 'type']]);
  });

  it('text: max/min length in characters, pattern, COPY CSV quoting', () => {
    const c: ColumnInput = { name: 'status', type: 'text', maxLength: 5, minLength: 2 };
    accepts(c, [['ok', 'ok'], ['ééééé', 'ééééé'], ['a\tb', 'a\tb'], ['a\\b', 'a\\b'], ['x\ny', '"x\ny"'], ['a,b', '"a,b"'], ['"q"', '"""q"""'], ['\\.', '"\\."']]);
    rejects(c, [['toolong', 'max_length'], ['x', 'min_length']]);
    rejects({ name: 'code', type: 'text', pattern: '^[A-Z]{3}$' }, [['ab', 'pattern']]);
  });

  it('pattern type: the regex must match', () => {
    const c: ColumnInput = { name: 'merchant', type: 'pattern', regex: '^MRC-\\d{6}$' };
    accepts(c, [['MRC-123456', 'MRC-123456']]);
    rejects(c, [['MRC-12345', 'pattern'], ['mrc-123456', 'pattern']]);
  });

  it('enum: one of the declared values (case-sensitive unless a case coercion is declared)', () => {
    const c: ColumnInput = { name: 'status', type: 'enum', values: ['SUCCESS', 'FAILED'] };
    accepts(c, [['SUCCESS', 'SUCCESS']]);
    rejects(c, [['success', 'enum'], ['PENDING', 'enum']]);
    accepts({ ...c, coerce: ['uppercase'] } as ColumnInput, [['success', 'SUCCESS']]);
  });

  it('date: ISO by default, declared formats, calendar validity, min/max', () => {
    const c: ColumnInput = { name: 'day', type: 'date', min: '2020-01-01' };
    accepts(c, [['2024-02-29', '2024-02-29'], ['2025-12-31', '2025-12-31']]);
    rejects(c, [['2025-02-29', 'format'], ['2025-13-01', 'format'], ['2025-1-01', 'format'], ['13/05/2025', 'format'], ['2019-12-31', 'min']]);
    accepts({ name: 'day', type: 'date', formats: ['DD/MM/YYYY', 'YYYYMMDD'] }, [['13/05/2025', '2025-05-13'], ['20250513', '2025-05-13']]);
  });

  it('timestamp and timestamptz: ISO 8601 with microseconds; zones only on timestamptz', () => {
    const ts: ColumnInput = { name: 'at', type: 'timestamp' };
    accepts(ts, [['2025-05-13T06:00:00.123456', '2025-05-13T06:00:00.123456'], ['2025-05-13 06:00', '2025-05-13 06:00']]);
    rejects(ts, [['2025-05-13T06:00:00.1234567', 'precision'], ['2025-05-13T25:00:00', 'format'], ['2025-05-13', 'format'], ['2025-05-13T06:00:00Z', 'timezone']]);
    const tz: ColumnInput = { name: 'at', type: 'timestamptz' };
    accepts(tz, [['2025-05-13T06:00:00+02:00', '2025-05-13T06:00:00+02:00'], ['2025-05-13T06:00:00', '2025-05-13T06:00:00+00']]);
  });

  it('boolean and uuid', () => {
    accepts({ name: 'b', type: 'boolean' }, [['true', 't'], ['No', 'f'], ['1', 't']]);
    rejects({ name: 'b', type: 'boolean' }, [['maybe', 'type']]);
    accepts({ name: 'id', type: 'uuid' }, [['4a0e8c3e-1f7b-4a8e-9a43-2f1c3d5e6f70', '4a0e8c3e-1f7b-4a8e-9a43-2f1c3d5e6f70']]);
    rejects({ name: 'id', type: 'uuid' }, [['4a0e8c3e-1f7b-4a8e-9a43-2f1c3d5e6f7', 'type'], ['4a0e8c3e1f7b4a8e9a432f1c3d5e6f70xxxx', 'type'], ['4a0e8c3e-1f7b-4a8e-9a43-2f1c3d5e6fzz', 'type']]);
  });

  it('required vs nullable: an empty optional field is NULL', () => {
    expect(one({ name: 'note', type: 'text', required: false }, '')).toEqual({ out: '' });
    expect(one({ name: 'note', type: 'text' }, '')).toMatchObject({ rule: 'required', message: 'note: value is required' });
  });

  it('custom predicate: true passes, false or a message refuses', () => {
    const c: ColumnInput = { name: 'even', type: 'integer', check: (v) => Number(v) % 2 === 0 || 'must be even' };
    accepts(c, [['4', '4']]);
    expect(one(c, '3')).toEqual({ rule: 'check', message: 'even: must be even' });
  });

  it('a row with three bad columns has three errors, and the suffix carries the partition value', () => {
    const { v } = validator([
      { name: 'a', type: 'integer' }, { name: 'b', type: 'date' }, { name: 'c', type: 'uuid' }, { name: 'd', type: 'text' },
    ], ',acme');
    expect(v.check(['x', 'y', 'z', 'fine'], 7, null)).toBe(REJECTED);
    expect(v.errors.map((e) => [e.column, e.rule, e.value])).toEqual([['a', 'type', 'x'], ['b', 'format', 'y'], ['c', 'type', 'z']]);
    expect(v.check(['1', '2025-01-02', '4a0e8c3e-1f7b-4a8e-9a43-2f1c3d5e6f70', 'ok'], 8, null)).toBe('1,2025-01-02,4a0e8c3e-1f7b-4a8e-9a43-2f1c3d5e6f70,ok,acme');
  });

  it('coercions apply only when declared and are counted for loaded rows only', () => {
    const { v, compiled } = validator([
      { name: 'amount', type: 'numeric', precision: 10, scale: 2, coerce: ['thousands_separator', 'negative_zero'] },
      { name: 'name', type: 'text', coerce: ['trim'] },
    ]);
    expect(v.check(['1,250.00', ' Ada '], 1, null)).toBe('1250.00,Ada');
    expect(v.check(['-0.0', 'Bob'], 2, null)).toBe('0.0,Bob');
    expect(v.check(['1,250.00', ''], 3, null)).toBe(REJECTED); // refused: its coercion is not counted
    expect(compiled.takeCoercions()).toEqual({ 'amount.thousands_separator': 1, 'amount.negative_zero': 1, 'name.trim': 1 });
    expect(one({ name: 'amount', type: 'numeric', precision: 10, scale: 2 }, '1,250.00').rule).toBe('type');
  });

  it('unique within the file: first wins, or later duplicates are refused', () => {
    const first = validator([{ name: 'id', type: 'integer', unique: 'first' }, { name: 'v', type: 'text' }]).v;
    expect(first.check(['1', 'a'], 1, null)).toBe('1,a');
    expect(first.check(['1', 'b'], 2, null)).toBe(DUPLICATE);
    expect(first.check(['x', 'c'], 3, null)).toBe(REJECTED);
    const reject = validator([{ name: 'id', type: 'integer', unique: 'reject' }]).v;
    expect(reject.check(['1'], 1, null)).toBe('1');
    expect(reject.check(['1'], 2, null)).toBe(REJECTED);
    expect(reject.errors[0]).toMatchObject({ column: 'id', rule: 'unique' });
  });
});

describe('row output', () => {
  it('sends the raw line itself when no value changed, else the encoded values', () => {
    const { v } = validator([{ name: 'id', type: 'integer' }, { name: 'day', type: 'date', formats: ['YYYY-MM-DD', 'DD/MM/YYYY'] }]);
    const raw = '7,2025-05-13';
    expect(v.check(raw.split(','), 2, raw)).toBe(raw);
    expect(v.check(['7', '13/05/2025'], 3, '7,13/05/2025')).toBe('7,2025-05-13');
  });
});

describe('load options', () => {
  it('fills defaults and refuses inconsistent options', () => {
    const o = loadOptions.parse({ source: { file: 'a.csv' }, target: 's.t', columns: [{ name: 'a', type: 'text' }] });
    expect(o).toMatchObject({ mode: 'append', force: false, extraColumns: 'error', csv: { delimiter: ',', header: true } });
    const bad = (extra: object) => loadOptions.safeParse({ source: { file: 'a.csv' }, target: 't', columns: [{ name: 'a', type: 'text' }], ...extra });
    expect(bad({ mode: 'upsert' }).success).toBe(false);
    expect(bad({ mode: 'replace-partition' }).success).toBe(false);
    expect(bad({ key: ['nope'] }).success).toBe(false);
    expect(bad({ target: 'bad-name' }).success).toBe(false);
    expect(bad({ partition: { column: 'a', value: 'x' } }).success).toBe(false);
    expect(bad({ csv: { delimiter: '"' } }).success).toBe(false);
    expect(bad({ csv: { delimiter: '-' } }).success).toBe(false);
    expect(bad({ csv: { delimiter: '\t' } }).success).toBe(true);
  });
});
