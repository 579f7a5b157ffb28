/** File-name patterns of the sensor: what each form matches and captures, and the errors. */
import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../../engine/errors.ts';
import { compileFilePattern } from '../../../jobs/sensor/file-pattern.ts';

const scope = { logicalDate: new Date('2025-05-13T07:00:00Z'), params: { filePattern: '{table}.csv', prefix: 'acme' } };
const names = (pattern: string, list: string[], values?: Record<string, string[]>) => {
  const { regex } = compileFilePattern(pattern, scope, values);
  return list.flatMap((n) => {
    const m = regex.exec(n);
    return m ? [[n, { ...m.groups }]] : [];
  });
};

describe('compileFilePattern', () => {
  it('renders the date, captures {name} parts, anchors both ends', () => {
    expect(names('{agency}_{yyyymmdd}.csv', ['acme_20250513.csv', 'acme_20250514.csv', 'x_acme_20250513.csv.bak', '.hidden_20250513.csv', 'big_co_20250513.csv'])).toEqual([
      ['acme_20250513.csv', { agency: 'acme' }],
      ['big_co_20250513.csv', { agency: 'big_co' }],
    ]);
  });

  it('restricts a part to its listed values and escapes the literal text', () => {
    expect(names('{table}_{yyyy-mm-dd}.csv', ['sellers_2025-05-13.csv', 'notes_2025-05-13.csv', 'sellers_2025-05-13xcsv'], { table: ['sellers', 'credits'] })).toEqual([
      ['sellers_2025-05-13.csv', { table: 'sellers' }],
    ]);
  });

  it('takes placeholders from a run param value, and * / ? wildcards', () => {
    const param = compileFilePattern('{params.filePattern}', scope, { table: ['sellers'] });
    expect(param.display).toBe('{table}.csv');
    expect(param.regex.test('sellers.csv')).toBe(true);
    expect(param.regex.test('sellers_20250513.csv')).toBe(false);
    expect(names('{params.prefix}_*.c?v', ['acme_x.csv', 'acme_.ctv', 'other_x.csv'])).toEqual([['acme_x.csv', {}], ['acme_.ctv', {}]]);
  });

  it('shows the pattern with the date rendered and {name} parts kept', () => {
    expect(compileFilePattern('{agency}_{yyyymmdd}.csv', scope).display).toBe('{agency}_20250513.csv');
  });

  it.each([
    ['{a}_{a}.csv', /appears twice/],
    ['sub/{a}.csv', /no "\/"/],
    ['{1bad}.csv', /is not a placeholder/],
  ])('refuses %s with OPTIONS_INVALID', (pattern, why) => {
    const attempt = () => compileFilePattern(pattern, scope);
    expect(attempt).toThrow(TributaryError);
    expect(attempt).toThrow(why);
    try {
      attempt();
    } catch (err) {
      expect((err as TributaryError).code).toBe('OPTIONS_INVALID');
    }
  });
});
