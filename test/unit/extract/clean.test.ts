import { describe, expect, it } from 'vitest';
import { fieldText, RecordCleaner, timestampLayout } from '../../../jobs/extract/clean.ts';
import { extractOptions } from '../../../jobs/extract/options.ts';
import type { ColumnSpec } from '../../../jobs/load/options.ts';

const COLUMNS = [
  { name: 'id', type: 'text' },
  { name: 'amount', type: 'numeric', precision: 10, scale: 2, header: 'transaction_amount' },
  { name: 'category', type: 'text' },
  { name: 'at', type: 'timestamptz' },
];

function options(extra: object = {}) {
  return extractOptions.safeParse({ url: 'http://api/x', target: 't', key: ['id'], columns: COLUMNS, ...extra });
}

describe('timestampLayout', () => {
  it('rewrites a day-first timestamp to ISO 8601 UTC', () => {
    const dayFirst = timestampLayout('DD/MM/YYYY HH:mm:ss');
    expect(dayFirst('13/05/2025 10:22:33')).toBe('2025-05-13T10:22:33Z');
    expect(dayFirst('29/02/2024 00:00:00')).toBe('2024-02-29T00:00:00Z');
    expect(timestampLayout('YYYY.MM.DD HH:mm')('2025.05.13 07:08')).toBe('2025-05-13T07:08:00Z');
  });

  it('returns null for what does not fit or is no real time', () => {
    const dayFirst = timestampLayout('DD/MM/YYYY HH:mm:ss');
    for (const bad of ['2025-05-13T10:22:33Z', '13/05/2025', '29/02/2025 00:00:00', '13/13/2025 10:00:00', '13/05/2025 24:00:00', '13/05/2025 10:60:00', '13/05/2025 10:22:61', '13-05-2025 10:22:33']) {
      expect(dayFirst(bad), bad).toBeNull();
    }
  });
});

describe('fieldText', () => {
  it('turns JSON values into field text; absent and null are missing', () => {
    expect([undefined, null, '', 'x', 12.5, -0.5, 0, true, false].map(fieldText)).toEqual(['', '', '', 'x', '12.5', '-0.5', '0', 'true', 'false']);
    expect(fieldText({ a: 1 })).toBe('{"a":1}');
    expect(fieldText([1, 2])).toBe('[1,2]');
  });
});

describe('RecordCleaner', () => {
  it('orders fields by column, reads `header` as the field name, and counts and records coercions of committed records only', () => {
    const o = options({ defaults: { category: 'none' }, timestampFormats: { at: ['DD/MM/YYYY HH:mm:ss'] } });
    expect(o.success).toBe(true);
    const cleaner = new RecordCleaner(o.data!.columns as ColumnSpec[], o.data!.defaults, o.data!.timestampFormats);
    const recorded: unknown[] = [];
    cleaner.recorder = (line, notes) => recorded.push({ line, notes });
    expect(cleaner.coerces).toBe(true);
    expect(cleaner.fields({ at: '13/05/2025 10:22:33', id: 'a', transaction_amount: 12.5, extra: 1 })).toEqual(['a', '12.5', 'none', '2025-05-13T10:22:33Z']);
    cleaner.commit(1);
    expect(cleaner.fields({ id: 'b', category: null, at: '01/01/2025 00:00:00' })).toEqual(['b', '', 'none', '2025-01-01T00:00:00Z']);
    // not committed (refused): its coercions neither count nor are recorded
    expect(cleaner.fields({ id: 'c', category: 'food', at: '2025-05-13T10:22:33Z', transaction_amount: '7' })).toEqual(['c', '7', 'food', '2025-05-13T10:22:33Z']);
    cleaner.commit(3);
    expect(Object.fromEntries(cleaner.applied)).toEqual({ 'category.default': 1, 'at.timestamp_format': 1 });
    expect(recorded).toEqual([{
      line: 1,
      notes: [
        { column: 'category', coercion: 'default', value: '', coerced: 'none' },
        { column: 'at', coercion: 'timestamp_format', value: '13/05/2025 10:22:33', coerced: '2025-05-13T10:22:33Z' },
      ],
    }]);
    expect(new RecordCleaner(o.data!.columns as ColumnSpec[], {}, {}).coerces).toBe(false);
  });
});

describe('extract options', () => {
  const issues = (extra: object) => {
    const r = options(extra);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('fills defaults and keeps the load options for the upsert path', () => {
    const o = options({}).data!;
    expect(o.paging).toEqual({ style: 'page', pageParam: 'page', firstPage: 1, sizeParam: 'page_size', size: 100 });
    expect(o.request).toMatchObject({ timeoutMs: 30_000, retries: 5, backoffMs: 500, maxBackoffMs: 30_000, headers: {} });
    expect(o.recordsPath).toBe('data');
    expect(o.load).toMatchObject({ mode: 'upsert', key: ['id'], target: 't' });
  });

  it('names every column a setting refers to that is missing or of the wrong type', () => {
    expect(issues({ watermark: { column: 'nope', param: 'since' } })).toEqual(['watermark.column: "nope" is not a declared column']);
    expect(issues({ watermark: { column: 'category', param: 'since' } })).toEqual(['watermark.column: column "category" must be of type timestamp, timestamptz, date, integer, bigint']);
    expect(issues({ timestampFormats: { id: ['DD/MM/YYYY HH:mm'] } })).toEqual(['timestampFormats.id: column "id" must be of type timestamp, timestamptz']);
    expect(issues({ watermark: { column: 'at', param: 'since', initial: '2025-13-01' } })).toEqual(['watermark.initial: "2025-13-01" is not an ISO 8601 timestamp']);
    expect(issues({ watermark: { column: 'at', param: 'since', initial: '2025-01-01T00:00:00Z' } })).toEqual([]);
    expect(issues({ defaults: { nope: 'x' } })).toEqual(['defaults.nope: "nope" is not a declared column']);
    expect(issues({ reversal: { column: 'amount' } })).toEqual(['reversal.column: column "amount" must have the key\'s type']);
    expect(issues({ timestampFormats: { at: ['DD/MM/YYYY'] } })[0]).toMatch(/^timestampFormats.at.0: layout of/);
    expect(issues({ timestampFormats: { at: ['DD/MM/YYYY HH:mm:mm'] } })).toEqual(['timestampFormats.at.0: a layout names each of YYYY MM DD HH mm ss at most once']);
  });

  it('reports the load schema\'s own findings (key not declared, duplicate column)', () => {
    expect(issues({ key: ['nope'] })).toEqual(['key: key column "nope" is not a declared column']);
    expect(issues({ columns: [...COLUMNS, { name: 'id', type: 'text' }] })).toEqual(['columns: column "id" is declared twice']);
    expect(issues({ recordsPath: 'a..b' })[0]).toMatch(/^recordsPath: must be a dotted path/);
    expect(issues({ paging: { style: 'cursor' } })[0]).toMatch(/^paging.nextCursorPath/);
  });
});
