/**
 * The refusals for PostgreSQL's own limits name the rule and say why in one line, on the full check
 * and with the raw-line path stepping aside (it never accepts what the full check refuses).
 */
import { describe, expect, it } from 'vitest';
import { csvEscaper } from '../../../jobs/load/column-types.ts';
import { loadOptions, type LoadOptionsInput } from '../../../jobs/load/options.ts';
import { CompiledColumns, RowValidator } from '../../../jobs/load/validator.ts';

type ColumnInput = LoadOptionsInput['columns'][number];

function refusal(column: ColumnInput, value: string): { raw: string | null; rule: string; message: string } {
  const [spec] = loadOptions.parse({ source: { file: 'x.csv' }, target: 't', columns: [column] }).columns;
  const v = new RowValidator(new CompiledColumns([spec], csvEscaper(',', '"')), [0], [spec.name], '', false, ',');
  const raw = v.checkRaw(value, 2);
  const r = v.check([value], 2, value);
  expect(typeof r, `${JSON.stringify(value.slice(0, 40))} accepted`).toBe('number');
  return { raw, rule: v.errors[0].rule, message: v.errors[0].message };
}

describe("refusals at PostgreSQL's limits", () => {
  it('a UTC offset past ±15:59 (22009 on the server)', () => {
    for (const zone of ['+16:00', '+25:00', '-16', '+1600', '+05:60', '-00:99']) {
      const r = refusal({ name: 'at', type: 'timestamptz' }, `2024-05-13 06:00:00${zone}`);
      expect(r).toEqual({ raw: null, rule: 'range', message: `at: "2024-05-13 06:00:00${zone}" has a UTC offset out of range (${zone}; PostgreSQL takes -15:59 to +15:59)` });
    }
  });

  it('more than 131072 integer digits in an unconstrained numeric (22003)', () => {
    const r = refusal({ name: 'amount', type: 'numeric' }, '9'.repeat(140_000));
    expect(r).toEqual({ raw: null, rule: 'precision', message: `amount: "${'9'.repeat(57)}..." has more than 131072 integer digits (the most a numeric holds)` });
  });

  it('more than 16383 digits after the point, trailing zeros included, in any numeric (22003)', () => {
    const r = refusal({ name: 'amount', type: 'numeric' }, `0.${'0'.repeat(16383)}1`);
    expect(r).toMatchObject({ raw: null, rule: 'scale', message: expect.stringContaining('has more than 16383 decimals (the most a numeric holds)') });
    for (const column of [{ name: 'amount', type: 'numeric' }, { name: 'amount', type: 'numeric', precision: 6, scale: 2 }] as ColumnInput[]) {
      const z = refusal(column, `1.${'0'.repeat(16384)}`);
      expect(z).toMatchObject({ raw: null, rule: 'scale', message: expect.stringMatching(/has 16384 digits after the point; PostgreSQL's numeric takes at most 16383, trailing zeros included$/) });
    }
  });
});
