/**
 * The validator's fast path with custom predicates and `unique` columns (it must decide exactly as
 * the full check does), the first-wins key of onConflict 'ignore' (a column tuple), and the coercion
 * recorder (line, column, value before and after, for accepted rows only).
 */
import { describe, expect, it } from 'vitest';
import { csvEscaper } from '../../../jobs/load/column-types.ts';
import { loadOptions, type LoadOptionsInput } from '../../../jobs/load/options.ts';
import { compileLoad } from '../../../jobs/load/plan.ts';
import { CompiledColumns, DUPLICATE, REJECTED, RowValidator, type CoercionNote } from '../../../jobs/load/validator.ts';

type ColumnInput = LoadOptionsInput['columns'][number];

function validator(columns: ColumnInput[], firstWins: string[] = []) {
  const options = loadOptions.parse({ source: { file: 'x.csv' }, target: 't', columns });
  const compiled = new CompiledColumns(options.columns, csvEscaper(',', '"'), firstWins);
  const headers = options.columns.map((c) => c.name);
  return { v: new RowValidator(compiled, headers.map((_, i) => i), headers, '', false, ','), compiled };
}

const TYPES: Record<string, string[]> = { KYC: ['DOCUMENT_SUBMITTED', 'TIER_UPGRADE'], POS: ['CARD_PURCHASE'] };
const EVENT_COLUMNS: ColumnInput[] = [
  { name: 'id', type: 'uuid', unique: 'first' },
  { name: 'product', type: 'enum', values: ['KYC', 'POS'] },
  { name: 'event_type', type: 'text', check: (v, r) => !(r.product in TYPES) || TYPES[r.product].includes(v) || `not a ${r.product} event` },
  { name: 'day', type: 'date', formats: ['YYYY-MM-DD', 'DD/MM/YYYY'] },
];
const ID = ['4a0e8c3e-1f7b-4a8e-9a43-2f1c3d5e6f70', '4a0e8c3e-1f7b-4a8e-9a43-2f1c3d5e6f71'];

describe('fast path with predicates and unique columns', () => {
  it('accepts, refuses and deduplicates exactly as the full check, raw line or not', () => {
    const { v } = validator(EVENT_COLUMNS);
    const raw = `${ID[0]},KYC,TIER_UPGRADE,2025-05-13`;
    expect(v.check(raw.split(','), 2, raw)).toBe(raw);
    expect(v.check([ID[0], 'POS', 'CARD_PURCHASE', '2025-05-14'], 3, null)).toBe(DUPLICATE);
    expect(v.check([ID[1], 'POS', 'TIER_UPGRADE', '2025-05-14'], 4, null)).toBe(REJECTED);
    expect(v.errors).toEqual([{ column: 'event_type', rule: 'check', message: 'event_type: not a POS event', value: 'TIER_UPGRADE' }]);
    // An unknown product is the product rule's error alone; the predicate lets it pass.
    expect(v.check([ID[1], 'LOANS', 'TIER_UPGRADE', '2025-05-14'], 5, null)).toBe(REJECTED);
    expect(v.errors.map((e) => `${e.column}:${e.rule}`)).toEqual(['product:enum']);
    // A refused row's id does not count as seen; an encoded value (the ISO date) goes out.
    expect(v.check([ID[1], 'KYC', 'DOCUMENT_SUBMITTED', '14/05/2025'], 6, null)).toBe(`${ID[1]},KYC,DOCUMENT_SUBMITTED,2025-05-14`);
  });

  it('raw lines accepted as is: predicates read fields in place, the key set takes the key in place', () => {
    const { v } = validator(EVENT_COLUMNS.map((c) => (c.name === 'day' ? { ...c, formats: ['YYYY-MM-DD'] } : c)));
    const line = (id: string, product: string, type: string) => `${id},${product},${type},2025-05-13`;
    expect(v.checkRaw(line(ID[0], 'KYC', 'TIER_UPGRADE'), 2)).toBe(line(ID[0], 'KYC', 'TIER_UPGRADE'));
    expect(v.checkRaw(line(ID[1], 'POS', 'TIER_UPGRADE'), 3)).toBeNull(); // the predicate refuses: check() explains
    expect(v.checkRaw(line(ID[0], 'POS', 'CARD_PURCHASE'), 4)).toBeNull(); // a repeated id: check() says DUPLICATE
    const repeat = line(ID[0], 'POS', 'CARD_PURCHASE');
    expect(v.check(repeat.split(','), 4, repeat)).toBe(DUPLICATE);
    expect(v.checkRaw(line(ID[1], 'POS', 'CARD_PURCHASE'), 5)).toBe(line(ID[1], 'POS', 'CARD_PURCHASE'));
    expect(v.check(line(ID[1], 'KYC', 'TIER_UPGRADE').split(','), 6, null)).toBe(DUPLICATE); // seen through checkRaw
  });

  it('compares a unique column by its loaded value: an ISO date and the same day in another layout are duplicates', () => {
    const { v } = validator([{ name: 'day', type: 'date', formats: ['YYYY-MM-DD', 'DD/MM/YYYY'], unique: 'reject' }, { name: 'n', type: 'integer' }]);
    expect(v.check(['2025-05-13', '1'], 2, '2025-05-13,1')).toBe('2025-05-13,1');
    expect(v.check(['13/05/2025', '2'], 3, null)).toBe(REJECTED);
    expect(v.errors[0]).toMatchObject({ column: 'day', rule: 'unique', value: '13/05/2025' });
  });
});

describe('first-wins key (onConflict ignore)', () => {
  it('deduplicates a column tuple within the file; NULL in the key never matches', () => {
    const cols: ColumnInput[] = [{ name: 'a', type: 'integer' }, { name: 'b', type: 'text', required: false }, { name: 'v', type: 'text' }];
    const { v } = validator(cols, ['a', 'b']);
    expect(v.check(['1', 'x', 'first'], 2, null)).toBe('1,x,first');
    expect(v.check(['1', 'y', 'other b'], 3, null)).toBe('1,y,other b');
    expect(v.check(['1', 'x', 'again'], 4, null)).toBe(DUPLICATE);
    expect(v.check(['1', '', 'null b'], 5, null)).toBe('1,,null b');
    expect(v.check(['1', '', 'null b again'], 6, null)).toBe('1,,null b again');
  });

  it('comes from the plan only under onConflict ignore, without the partition column', () => {
    const plan = (extra: object) => compileLoad(loadOptions.parse({
      source: { file: 'x.csv' }, target: 't', columns: [{ name: 'id', type: 'integer' }], mode: 'upsert', key: ['id', 'agency'],
      partition: { column: 'agency', value: 'acme' }, ...extra,
    }));
    const ignore = plan({ onConflict: 'ignore' });
    expect(ignore).toMatchObject({ insertNew: true, staging: true, lastWins: [], mergeInSegments: true });
    expect(ignore.columns.firstWins).toEqual([0]);
    expect(plan({})).toMatchObject({ insertNew: false, lastWins: [['id', 'agency']], mergeInSegments: false });
    expect(plan({}).columns.firstWins).toEqual([]);
  });
});

describe('coercion recorder', () => {
  it('gets each accepted row’s coercions with its line, and nothing for refused or duplicate rows', () => {
    const { v, compiled } = validator([
      { name: 'id', type: 'integer', unique: 'first' },
      { name: 'amount', type: 'numeric', precision: 12, scale: 2, coerce: ['thousands_separator', 'trim'] },
      { name: 'status', type: 'enum', values: ['SUCCESS'], coerce: ['uppercase'] },
    ]);
    const recorded: Array<[number, CoercionNote[]]> = [];
    compiled.recorder = (line, notes) => recorded.push([line, notes]);
    expect(v.check(['1', ' 1,250.00', 'success'], 2, null)).toBe('1,1250.00,SUCCESS');
    expect(v.check(['2', '3.00', 'SUCCESS'], 3, null)).toBe('2,3.00,SUCCESS');
    expect(v.check(['1', '9,999.00', 'SUCCESS'], 4, null)).toBe(DUPLICATE);
    expect(v.check(['3', '9,999.00', 'FAILED'], 5, null)).toBe(REJECTED);
    expect(recorded.filter(([, notes]) => notes.length > 0)).toEqual([[2, [
      { column: 'amount', coercion: 'trim', value: ' 1,250.00', coerced: '1,250.00' },
      { column: 'amount', coercion: 'thousands_separator', value: '1,250.00', coerced: '1250.00' },
      { column: 'status', coercion: 'uppercase', value: 'success', coerced: 'SUCCESS' },
    ]]]);
    expect(compiled.takeCoercions()).toEqual({ 'amount.trim': 1, 'amount.thousands_separator': 1, 'status.uppercase': 1 });
  });
});
