import { describe, expect, it } from 'vitest';
import { csvField, csvLine } from '../../../samples/csv-writer.ts';
import { compactDay, fixed, microTimestamp, parseDay, percent2, ratio4, withThousands } from '../../../samples/format.ts';

describe('sample formatting', () => {
  it('rounds percentages half-up exactly, where float toFixed would not', () => {
    expect(percent2(7, 16)).toBe('43.75');
    expect(percent2(3, 13)).toBe('23.08');
    expect(percent2(1, 3)).toBe('33.33');
    expect(percent2(2, 3)).toBe('66.67');
    expect(percent2(201, 20_000)).toBe('1.01'); // 1.005: (1.005).toFixed(2) is '1.00'
    expect(percent2(0, 10)).toBe('0.00');
    expect(percent2(0, 0)).toBe('0.00');
    expect(percent2(5, 5)).toBe('100.00');
    expect(ratio4(1, 3)).toBe('0.3333');
    expect(ratio4(2, 3)).toBe('0.6667');
  });

  it('writes money from integer units', () => {
    expect(fixed(125, 2)).toBe('1.25');
    expect(fixed(-5, 2)).toBe('-0.05');
    expect(fixed(7, 4)).toBe('0.0007');
    expect(fixed(42, 0)).toBe('42');
    expect(withThousands(125_000, 2)).toBe('1,250.00');
    expect(withThousands(123_456_789, 2)).toBe('1,234,567.89');
    expect(withThousands(99_999, 2)).toBe('999.99');
  });

  it('parses and prints UTC days and microsecond timestamps', () => {
    const ms = parseDay('2025-05-13');
    expect(compactDay(ms)).toBe('20250513');
    expect(microTimestamp(ms + 3_723_004, 56)).toBe('2025-05-13 01:02:03.004056');
    expect(() => parseDay('2025-02-30')).toThrow(RangeError);
    expect(() => parseDay('13/05/2025')).toThrow(RangeError);
  });

  it('quotes CSV fields only when needed', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField(null)).toBe('');
    expect(csvLine(['1', 'x, y', ''])).toBe('1,"x, y",\n');
  });
});
