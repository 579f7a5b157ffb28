/**
 * Numeric columns: unconstrained `numeric` keeps any decimal exactly; a declared scale refuses
 * extra decimals unless `round` is given, and then rounds decimal-exactly (checked against a
 * BigInt reference that shares no code with the string rounding) and notes every change.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { columnFn, csvEscaper, sqlType } from '../../../jobs/load/column-types.ts';
import { roundDecimal, type RoundingMode } from '../../../jobs/load/decimal.ts';
import { rangeCheck } from '../../../jobs/load/fast-accept.ts';
import { columnSchema, type LoadOptionsInput } from '../../../jobs/load/options.ts';

type ColumnInput = LoadOptionsInput['columns'][number];
const escape = csvEscaper(',', '"');

/** The column fn of `column` with the coercions it notes. */
function compile(column: ColumnInput) {
  const spec = columnSchema.parse(column);
  const notes: Array<[string, string, string]> = [];
  const fn = columnFn(spec, (coercion, before, after) => notes.push([coercion, before, after]), escape);
  return { spec, fn, notes };
}

/** Reference: `v` × 10^scale as BigInt quotient and remainder, rounded, printed back. */
function reference(v: string, scale: number, mode: RoundingMode): string {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(v)!;
  const negative = m[1] === '-';
  const frac = m[3] ?? '';
  const magnitude = BigInt((m[2] || '0') + frac);
  const divisor = 10n ** BigInt(Math.max(0, frac.length - scale));
  const up = 10n ** BigInt(Math.max(0, scale - frac.length));
  let q = (magnitude * up) / divisor;
  const twice = 2n * ((magnitude * up) % divisor);
  if (twice > divisor || (twice === divisor && (mode === 'half-up' || q % 2n === 1n))) q += 1n;
  const digits = q.toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative && q !== 0n ? `-${text}` : text;
}

describe('roundDecimal', () => {
  it.each<[string, number, RoundingMode, string]>([
    ['1.2345', 2, 'half-even', '1.23'],
    ['1.235', 2, 'half-even', '1.24'], // tie, 3 is odd → up
    ['1.245', 2, 'half-even', '1.24'], // tie, 4 is even → stays
    ['1.245', 2, 'half-up', '1.25'],
    ['1.2450000001', 2, 'half-even', '1.25'], // not a tie: a digit beyond the 5
    ['-1.245', 2, 'half-even', '-1.24'],
    ['-1.245', 2, 'half-up', '-1.25'], // half-up is away from zero, like PostgreSQL round()
    ['-1.235', 2, 'half-even', '-1.24'],
    ['9.99995', 4, 'half-even', '10.0000'], // carry through every digit
    ['9.99995', 4, 'half-up', '10.0000'],
    ['-999.9999999', 2, 'half-up', '-1000.00'],
    ['1345.6800000000003', 4, 'half-even', '1345.6800'],
    ['1345.6799999999998', 4, 'half-even', '1345.6800'],
    ['1130.53997', 4, 'half-up', '1130.5400'],
    ['59.480004', 4, 'half-even', '59.4800'],
    ['-0.00004', 4, 'half-even', '0.0000'], // rounds to zero: no sign
    ['-0.00005', 4, 'half-even', '0.0000'], // tie to the even 0
    ['-0.00005', 4, 'half-up', '-0.0001'],
    ['-0.0', 2, 'half-even', '0.00'],
    ['0.5', 0, 'half-even', '0'],
    ['1.5', 0, 'half-even', '2'],
    ['2.5', 0, 'half-even', '2'],
    ['2.5', 0, 'half-up', '3'],
    ['.995', 2, 'half-up', '1.00'],
    ['+7.125', 2, 'half-even', '7.12'],
    ['007.125', 2, 'half-up', '7.13'],
    ['12', 3, 'half-even', '12.000'],
  ])('%s to %i decimals (%s) → %s', (v, scale, mode, out) => {
    expect(roundDecimal(v, scale, mode)).toBe(out);
    expect(reference(v, scale, mode)).toBe(out);
  });

  it('agrees with a BigInt reference on random decimals (fast-check)', () => {
    const decimal = fc
      .tuple(fc.constantFrom('', '-', '+'), fc.stringMatching(/^\d{0,22}$/), fc.stringMatching(/^\d{0,22}$/))
      .filter(([, int, frac]) => int.length + frac.length > 0)
      .map(([sign, int, frac]) => (frac === '' ? `${sign}${int}` : `${sign}${int}.${frac}`));
    fc.assert(
      fc.property(decimal, fc.integer({ min: 0, max: 12 }), fc.constantFrom<RoundingMode>('half-even', 'half-up'), (v, scale, mode) => {
        const out = roundDecimal(v, scale, mode);
        expect(out).toBe(reference(v, scale, mode));
        expect(out).toMatch(scale === 0 ? /^-?(0|[1-9]\d*)$/ : new RegExp(`^-?(0|[1-9]\\d*)\\.\\d{${scale}}$`)); // COPY-valid numeric text
      }),
      { numRuns: 5000 },
    );
  });
});

describe('numeric columns', () => {
  it('undeclared precision: unconstrained numeric, every decimal kept as written', () => {
    const { spec, fn, notes } = compile({ name: 'amount', type: 'numeric' });
    expect(sqlType(spec)).toBe('numeric');
    for (const v of ['1345.6800000000003', '1130.53997', '59.480004', '-0.0', '123456789012345678901234567890.123456789', '-5']) {
      expect(fn(v)).toBe(v);
    }
    expect(fn('1e3')).toMatchObject({ rule: 'type' });
    expect(notes).toEqual([]);
  });

  it('declared scale without round: too many decimals is refused, never changed', () => {
    const { spec, fn, notes } = compile({ name: 'amount', type: 'numeric', precision: 18, scale: 4 });
    expect(sqlType(spec)).toBe('numeric(18,4)');
    expect(fn('1345.6800000000003')).toEqual({ rule: 'scale', message: '"1345.6800000000003" has more than 4 decimals (numeric(18,4); no round option)' });
    expect(fn('1345.68000')).toBe('1345.68000'); // trailing zeros are not extra decimals
    expect(notes).toEqual([]);
    expect(sqlType(columnSchema.parse({ name: 'n', type: 'numeric', precision: 9 }))).toBe('numeric(9,0)');
  });

  it('round: each rounded value is noted with before and after; values that fit are untouched', () => {
    const { fn, notes } = compile({ name: 'amount', type: 'numeric', precision: 18, scale: 4, round: 'half-even' });
    expect(fn('1345.6800000000003')).toBe('1345.6800');
    expect(fn('-0.00004')).toBe('0.0000');
    expect(fn('59.48')).toBe('59.48');
    expect(fn('-0.0')).toBe('-0.0');
    expect(notes).toEqual([['round', '1345.6800000000003', '1345.6800'], ['round', '-0.00004', '0.0000']]);
  });

  it('round: the precision and min/max apply to the rounded value; thousands separators come first', () => {
    const { fn, notes } = compile({ name: 'n', type: 'numeric', precision: 4, scale: 2, round: 'half-up', max: 50, coerce: ['thousands_separator'] });
    expect(fn('99.995')).toMatchObject({ rule: 'precision' }); // rounds to 100.00: three integer digits
    expect(fn('49.994')).toBe('49.99');
    expect(fn('50.004')).toBe('50.00'); // 50.00 is within max 50
    expect(fn('50.005')).toMatchObject({ rule: 'max' });
    const wide = compile({ name: 'n', type: 'numeric', precision: 10, scale: 1, round: 'half-even', coerce: ['thousands_separator'] });
    expect(wide.fn('1,234.56')).toBe('1234.6');
    expect(wide.notes).toEqual([['thousands_separator', '1,234.56', '1234.56'], ['round', '1234.56', '1234.6']]);
    expect(notes.map(([c]) => c)).toEqual(['round', 'round', 'round', 'round']);
  });

  it('a scale above the precision, or a varchar longer than Postgres allows, is an options error', () => {
    expect(columnSchema.safeParse({ name: 'n', type: 'numeric', precision: 3, scale: 5 }).success).toBe(false);
    expect(columnSchema.safeParse({ name: 'n', type: 'numeric', precision: 5, scale: 5 }).success).toBe(true);
    expect(columnSchema.safeParse({ name: 't', type: 'text', maxLength: 10_485_761 }).success).toBe(false);
    expect(columnSchema.safeParse({ name: 't', type: 'text', maxLength: 10_485_760 }).success).toBe(true);
  });

  it('scale or round without a precision is an options error', () => {
    expect(columnSchema.safeParse({ name: 'n', type: 'numeric', scale: 2 }).success).toBe(false);
    expect(columnSchema.safeParse({ name: 'n', type: 'numeric', round: 'half-up' }).success).toBe(false);
    expect(columnSchema.safeParse({ name: 'n', type: 'numeric', precision: 5, round: 'sideways' }).success).toBe(false);
  });

  it('the accept-as-is fast check never passes a value the column fn would change or refuse', () => {
    const columns: ColumnInput[] = [
      { name: 'u', type: 'numeric' },
      { name: 'r', type: 'numeric', precision: 8, scale: 2, round: 'half-even' },
      { name: 's', type: 'numeric', precision: 8, scale: 2 },
    ];
    const values = ['1.5', '1.505', '1345.6800000000003', '-0.0', '999999.995', '1234567', '12345678.9', '.5', 'x', '1,000.5'];
    for (const column of columns) {
      const { spec, fn } = compile(column);
      const check = rangeCheck(spec, fn, escape);
      const accepted = values.filter((v) => check(`[${v}]`, 1, v.length + 1));
      for (const v of accepted) expect(fn(v), `${column.name} ${v}`).toBe(v);
      expect(accepted.length).toBeGreaterThan(0);
    }
    const unconstrained = compile(columns[0]);
    expect(rangeCheck(unconstrained.spec, unconstrained.fn, escape)('1345.6800000000003', 0, 18)).toBe(true);
  });
});
