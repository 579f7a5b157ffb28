/**
 * A tiny seeded PRNG (mulberry32) and the helpers the generators draw from. Same seed → same
 * sequence on every machine; `deriveSeed` gives independent streams per file (seed, labels).
 */

export interface Random {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform 32-bit unsigned integer. */
  uint32(): number;
  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** Picks by weight: `[[value, weight], …]`. */
  weighted<T>(entries: ReadonlyArray<readonly [T, number]>): T;
  /** Fisher–Yates in place; returns the same array. */
  shuffle<T>(items: T[]): T[];
  /** A version-4-shaped UUID drawn from this stream (not crypto-random, but deterministic). */
  uuid(): string;
  /**
   * A version-4-shaped UUID that embeds (high 16 bits, low 48 bits) of a counter, so ids made
   * from distinct counters never collide even across streams; the rest is random.
   */
  uuidFor(high: number, low: number): string;
}

/** FNV-1a over the seed and labels: a 32-bit seed for an independent stream. */
export function deriveSeed(seed: number, ...labels: Array<string | number>): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  const text = labels.join('\u0000');
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= seed / 0x100000000; // high bits of large seeds
  return h >>> 0;
}

/** murmur3's 32-bit finaliser: a bijection on 32-bit integers. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  const uint32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const next = (): number => uint32() / 4294967296;
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  const hex32 = (n: number): string =>
    HEX[n >>> 24] + HEX[(n >>> 16) & 0xff] + HEX[(n >>> 8) & 0xff] + HEX[n & 0xff];
  return {
    next,
    uint32,
    int,
    chance: (p) => next() < p,
    pick: (items) => {
      if (items.length === 0) throw new RangeError('pick from an empty list');
      return items[Math.floor(next() * items.length)];
    },
    weighted: (entries) => {
      const total = entries.reduce((sum, [, w]) => sum + w, 0);
      let r = next() * total;
      for (const [value, w] of entries) {
        if (r < w) return value;
        r -= w;
      }
      return entries[entries.length - 1][0];
    },
    shuffle: (items) => {
      for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [items[i], items[j]] = [items[j], items[i]];
      }
      return items;
    },
    uuid: () => {
      const a = hex32(uint32());
      const b = hex32(uint32());
      const c = hex32(uint32());
      const d = hex32(uint32());
      const variant = '89ab'[parseInt(c[0], 16) & 3];
      return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-${variant}${c.slice(1, 4)}-${c.slice(4)}${d}`;
    },
    uuidFor: (high, low) => {
      const a = hex32(uint32());
      const c = hex32(uint32());
      const variant = '89ab'[parseInt(c[0], 16) & 3];
      // Bijective scrambles: distinct (high, low) stay distinct but do not look like counters.
      const hi = (Math.imul(high & 0xffff, 0x9e37) + 0x7f4a) & 0xffff;
      const lo32 = fmix32(low >>> 0);
      const lo16 = Math.floor(low / 0x100000000) & 0xffff;
      return `${a}-${hex32(hi).slice(4)}-4${c.slice(1, 4)}-${variant}${c.slice(5, 8)}-${hex32(lo16).slice(4)}${hex32(lo32)}`;
    },
  };
}
