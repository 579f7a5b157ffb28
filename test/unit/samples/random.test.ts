import { describe, expect, it } from 'vitest';
import { DefectPlan } from '../../../samples/plan.ts';
import { createRandom, deriveSeed } from '../../../samples/random.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('seeded random', () => {
  it('repeats the same sequence for the same seed and differs for another', () => {
    const a = createRandom(42);
    const b = createRandom(42);
    const c = createRandom(43);
    const seqA = Array.from({ length: 20 }, () => a.uint32());
    expect(Array.from({ length: 20 }, () => b.uint32())).toEqual(seqA);
    expect(Array.from({ length: 20 }, () => c.uint32())).not.toEqual(seqA);
  });

  it('keeps int() inside its inclusive bounds and reaches both ends', () => {
    const r = createRandom(7);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const n = r.int(-2, 3);
      expect(n).toBeGreaterThanOrEqual(-2);
      expect(n).toBeLessThanOrEqual(3);
      seen.add(n);
    }
    expect([...seen].sort()).toEqual([-1, -2, 0, 1, 2, 3]);
  });

  it('derives different streams from labels', () => {
    expect(deriveSeed(1, 'w1', 'acme', 0)).not.toBe(deriveSeed(1, 'w1', 'acme', 1));
    expect(deriveSeed(1, 'w1', 'acme', 0)).toBe(deriveSeed(1, 'w1', 'acme', 0));
    expect(deriveSeed(1, 'ab', 'c')).not.toBe(deriveSeed(1, 'a', 'bc'));
  });

  it('makes v4-shaped uuids; uuidFor never repeats for distinct counters', () => {
    const r = createRandom(1);
    expect(r.uuid()).toMatch(UUID);
    const ids = new Set<string>();
    for (let day = 0; day < 3; day++) {
      for (let i = 0; i < 20_000; i++) {
        const id = createRandom(5).uuidFor(day, i); // same stream state each time: only the counter differs
        if (i % 997 === 0) expect(id).toMatch(UUID);
        ids.add(id);
      }
    }
    expect(ids.size).toBe(60_000);
  });

  it('weighted() and pick() only return listed values', () => {
    const r = createRandom(3);
    for (let i = 0; i < 200; i++) {
      expect(['a', 'b']).toContain(r.weighted([['a', 1], ['b', 3]] as const));
      expect([1, 2, 3]).toContain(r.pick([1, 2, 3]));
    }
    expect(() => r.pick([])).toThrow(RangeError);
  });
});

describe('DefectPlan', () => {
  it('places exactly the planned count of each kind, for many sizes', () => {
    const r = createRandom(11);
    for (const rows of [1, 7, 10, 100, 1234]) {
      const counts = { a: Math.floor(rows / 3), b: Math.floor(rows / 5), c: rows >= 2 ? 1 : 0 };
      const plan = new DefectPlan(r, rows, counts);
      const got = { a: 0, b: 0, c: 0, clean: 0 };
      for (let i = 0; i < rows; i++) got[plan.next() ?? 'clean']++;
      expect(got).toEqual({ ...counts, clean: rows - counts.a - counts.b - counts.c });
      expect(() => plan.next()).toThrow(RangeError);
    }
  });

  it('refuses more planted rows than rows', () => {
    expect(() => new DefectPlan(createRandom(1), 2, { a: 2, b: 1 })).toThrow(RangeError);
  });
});
