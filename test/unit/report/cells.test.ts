/** CSV injection escaping (OWASP) and the report file name template. */
import { describe, expect, it } from 'vitest';
import { escapeFormula, toCell, REPORT_TYPES } from '../../../jobs/report/cells.ts';
import { renderFileName, templateProblem } from '../../../jobs/report/file-name.ts';

describe('formula escaping', () => {
  it('prefixes cells that start with = + - @ tab or CR', () => {
    for (const cell of ['=1+2', '+1', '-1+2', '@SUM(A1)', '\tx', '\rx', '-', '--5', '-Infinity', '+12']) {
      expect(escapeFormula(cell)).toBe(`'${cell}`);
    }
  });

  it('keeps plain numbers, negative ones included, and ordinary text', () => {
    for (const cell of ['-12.5', '-0.0', '-3', '-.5', '-1e5', '12', 'high-value', 'a=b', '', ' =x']) {
      expect(escapeFormula(cell)).toBe(cell);
    }
  });

  it('turns values into cells: null empty, objects as JSON, numbers as text', () => {
    expect(toCell(null)).toBe('');
    expect(toCell(-4)).toBe('-4');
    expect(toCell(true)).toBe('true');
    expect(toCell({ a: 1 })).toBe('{"a":1}');
    expect(toCell('=cmd')).toBe("'=cmd");
  });

  it('parses ints and floats as numbers, keeps numeric text exact, bigints past 2^53 as text', () => {
    const parse = (oid: number, text: string) => REPORT_TYPES.getTypeParser(oid)(text);
    expect(parse(23, '-7')).toBe(-7);
    expect(parse(701, '1.5')).toBe(1.5);
    expect(parse(1700, '0.10')).toBe('0.10');
    expect(parse(20, '9007199254740993')).toBe('9007199254740993');
    expect(parse(16, 't')).toBe(true);
    expect(parse(3802, '{"a":[1]}')).toEqual({ a: [1] });
  });
});

describe('file name template', () => {
  const run = { logicalDate: new Date('2025-05-13T06:00:00Z'), dagId: 'customer_ratings', taskId: 'report' };

  it('renders date tokens from the logical date in the timezone', () => {
    expect(renderFileName('Customer_Rating_Aggregate_Report_{yyyymmdd}.csv', run, 'UTC')).toBe('Customer_Rating_Aggregate_Report_20250513.csv');
    expect(renderFileName('{dag_id}_{task_id}_{yyyy}-{mm}-{dd}.csv', run, 'UTC')).toBe('customer_ratings_report_2025-05-13.csv');
    expect(renderFileName('r_{yyyy-mm-dd}.csv', { ...run, logicalDate: new Date('2025-05-13T02:00:00Z') }, 'America/New_York')).toBe('r_2025-05-12.csv');
  });

  it('rejects unknown tokens and anything but a plain file name', () => {
    expect(templateProblem('r_{date}.csv')).toMatch(/unknown token \{date\}/);
    expect(templateProblem('../r.csv')).toMatch(/plain file name/);
    expect(templateProblem('a/b.csv')).toMatch(/plain file name/);
    expect(templateProblem('.hidden.csv')).toMatch(/plain file name/);
    expect(templateProblem('r_{yyyymmdd.csv')).toBe('unbalanced { }');
    expect(templateProblem('r_{yyyymmdd}.csv')).toBeNull();
    expect(() => renderFileName('{dag_id}.csv', { ...run, dagId: '../x' }, 'UTC')).toThrow(/not a plain file name/);
  });
});
