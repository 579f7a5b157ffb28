/** KeySet agrees with a JS Set on many keys (through growth, rehashes and arena chunks), on equal hashes, on ranges, on any text. */
import { describe, expect, it } from 'vitest';
import { KeySet } from '../../../jobs/load/key-set.ts';

describe('KeySet', () => {
  it('adds each key once and finds it again, across growth', () => {
    const keys = new KeySet();
    const reference = new Set<string>();
    let disagreements = 0;
    for (let i = 0; i < 60_000; i++) {
      const key = `k${(i * 7919) % 45_000}`; // every key comes back at least once
      if (keys.add(key) !== !reference.has(key)) disagreements++;
      reference.add(key);
    }
    expect(disagreements).toBe(0);
    expect(keys.size).toBe(reference.size);
    for (const key of ['k0', 'k44999', 'k45000', '', 'k']) expect(keys.has(key), key).toBe(reference.has(key));
  });

  it('keeps keys apart across arena chunks, and a key longer than a chunk whole', () => {
    const keys = new KeySet();
    const reference = new Set<string>();
    const long = (i: number) => `${'x'.repeat(90)}-${i}`; // 40,000 of them fill ~7 chunks of 2^19 code units
    let disagreements = 0;
    for (let i = 0; i < 40_000; i++) {
      if (i === 20_000) {
        const huge = 'h'.repeat(1_200_000); // > 2 chunks: a chunk of its own
        expect([keys.add(huge), keys.add(huge), keys.has(`${huge}!`), keys.has(huge.slice(1))]).toEqual([true, false, false, false]);
      }
      if (keys.add(long(i)) !== !reference.has(long(i))) disagreements++;
      reference.add(long(i));
    }
    for (let i = 0; i < 40_000; i += 7) if (keys.add(long(i)) || !keys.has(long(i))) disagreements++;
    expect(disagreements).toBe(0);
    expect(keys.size).toBe(reference.size + 1);
    expect(keys.has('h'.repeat(1_200_000))).toBe(true);
  });

  it('keeps keys whose 32-bit hashes are equal apart', () => {
    const fnv = (s: string) => {
      let h = 0x811c9dc5;
      for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
      return h >>> 0;
    };
    const byHash = new Map<number, string>();
    const pairs: Array<[string, string]> = [];
    for (let i = 0; pairs.length < 3; i++) {
      const key = `event-${i}`;
      const other = byHash.get(fnv(key));
      if (other !== undefined) pairs.push([other, key]);
      byHash.set(fnv(key), key);
    }
    const keys = new KeySet();
    for (const [a, b] of pairs) {
      expect([keys.add(a), keys.add(b), keys.add(a), keys.add(b)]).toEqual([true, true, false, false]);
    }
  });

  it('takes a key as a range of a longer string, without a substring', () => {
    const keys = new KeySet();
    const line = 'a0e8c3e-1,MRC-123456,x';
    expect(keys.addRange(line, 10, 20)).toBe(true);
    expect(keys.has('MRC-123456')).toBe(true);
    expect(keys.add('MRC-123456')).toBe(false);
    expect(keys.addRange('MRC-12345', 0, 9)).toBe(true); // a prefix is another key
  });

  it('compares every code unit: case, non-ASCII, surrogate pairs', () => {
    const keys = new KeySet();
    for (const key of ['abc', 'ABC', 'é', 'e\u0301', '😀', '\ud83d']) expect(keys.add(key), key).toBe(true);
    for (const key of ['abc', 'é', '😀', '\ud83d']) expect(keys.add(key), key).toBe(false);
  });
});
