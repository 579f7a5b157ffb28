/**
 * Exact-count defect placement while streaming (selection sampling): given how many rows of each
 * kind a file must hold, `next()` says which kind row i is — O(kinds) memory, counts exact.
 */
import type { Random } from './random.ts';

export class DefectPlan<K extends string> {
  private readonly remaining: Map<K, number>;
  private rowsLeft: number;
  private defectsLeft: number;

  constructor(
    private readonly random: Random,
    rows: number,
    counts: Readonly<Record<K, number>>,
  ) {
    this.remaining = new Map(Object.entries(counts) as Array<[K, number]>);
    this.defectsLeft = [...this.remaining.values()].reduce((a, b) => a + b, 0);
    if (this.defectsLeft > rows) throw new RangeError(`${this.defectsLeft} planted rows do not fit in ${rows} rows`);
    this.rowsLeft = rows;
  }

  /** The kind of the next row, or null for a clean row. Call exactly `rows` times. */
  next(): K | null {
    if (this.rowsLeft <= 0) throw new RangeError('DefectPlan.next() called past the planned rows');
    const take = this.random.next() * this.rowsLeft < this.defectsLeft;
    this.rowsLeft--;
    if (!take) return null;
    let r = Math.floor(this.random.next() * this.defectsLeft);
    this.defectsLeft--;
    for (const [kind, left] of this.remaining) {
      if (r < left) {
        this.remaining.set(kind, left - 1);
        return kind;
      }
      r -= left;
    }
    throw new Error('unreachable: defect counts out of sync');
  }
}
