/**
 * A set of strings for the values seen in a file (`unique` columns, the first-wins key): open
 * addressing over typed arrays, each key's UTF-16 code units copied into an arena of fixed-size
 * chunks. No per-key objects, so a million keys cost the garbage collector nothing to trace and
 * keep no slice of the chunk they were read from alive. The arena never grows by copying: a
 * million UUID keys fill 72 MB, and doubling one array to that size cost ~0.5 s of a 10 s load
 * (fresh large allocations are slow to fault in here), where 1 MB chunks cost ~30 ms.
 */
const EMPTY = 0;
/** Code units per arena chunk (1 MB); a longer key gets a chunk of its own. Positions fit 32 bits up to 8 GB of keys. */
const CHUNK = 1 << 19;

export class KeySet {
  /** Per slot: key number + 1, or EMPTY. Capacity is a power of two, at most half full. */
  private slots = new Int32Array(1024);
  private hashes = new Uint32Array(512);
  /** Per key: its chunk's index × CHUNK + its offset in that chunk. */
  private starts = new Uint32Array(512);
  private lengths = new Uint32Array(512);
  private chunks: Uint16Array[] = [new Uint16Array(16_384)];
  /** Code units used in the last chunk. */
  private used = 0;
  size = 0;

  /** FNV-1a over the code units of text[a..b). */
  private static hash(text: string, a: number, b: number): number {
    let h = 0x811c9dc5;
    for (let i = a; i < b; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    return h >>> 0;
  }

  private same(n: number, text: string, a: number, b: number): boolean {
    if (this.lengths[n] !== b - a) return false;
    const chunk = this.chunks[Math.floor(this.starts[n] / CHUNK)];
    const start = (this.starts[n] % CHUNK) - a;
    for (let i = a; i < b; i++) if (chunk[start + i] !== text.charCodeAt(i)) return false;
    return true;
  }

  /** The slot holding the key text[a..b), or the empty slot where it would go. */
  private find(text: string, a: number, b: number, h: number): number {
    const mask = this.slots.length - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const n = this.slots[s];
      if (n === EMPTY || (this.hashes[n - 1] === h && this.same(n - 1, text, a, b))) return s;
    }
  }

  has(key: string): boolean {
    return this.slots[this.find(key, 0, key.length, KeySet.hash(key, 0, key.length))] !== EMPTY;
  }

  add(key: string): boolean {
    return this.addRange(key, 0, key.length);
  }

  /** Adds the key text[a..b) (no substring is made); false when it was there already. */
  addRange(text: string, a: number, b: number): boolean {
    const h = KeySet.hash(text, a, b);
    const s = this.find(text, a, b, h);
    if (this.slots[s] !== EMPTY) return false;
    const n = this.size++;
    const length = b - a;
    if (n === this.hashes.length) this.growKeys();
    const chunk = this.room(length);
    const at = this.used;
    for (let i = 0; i < length; i++) chunk[at + i] = text.charCodeAt(a + i);
    this.hashes[n] = h;
    this.starts[n] = (this.chunks.length - 1) * CHUNK + at;
    this.lengths[n] = length;
    this.used += length;
    this.slots[s] = n + 1;
    if (this.size * 2 > this.slots.length) this.rehash();
    return true;
  }

  /** The last chunk once it has `length` code units free: the first chunk doubles up to CHUNK, then new chunks. */
  private room(length: number): Uint16Array {
    let last = this.chunks[this.chunks.length - 1];
    if (this.used + length <= last.length) return last;
    if (this.chunks.length === 1 && this.used + length <= CHUNK) {
      last = grown(last, this.used + length);
      this.chunks[0] = last;
      return last;
    }
    last = new Uint16Array(Math.max(CHUNK, length));
    this.chunks.push(last);
    this.used = 0;
    return last;
  }

  private growKeys(): void {
    this.hashes = grown(this.hashes, this.hashes.length + 1);
    this.starts = grown(this.starts, this.starts.length + 1);
    this.lengths = grown(this.lengths, this.lengths.length + 1);
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let n = 0; n < this.size; n++) {
      let s = this.hashes[n] & mask;
      while (slots[s] !== EMPTY) s = (s + 1) & mask;
      slots[s] = n + 1;
    }
    this.slots = slots;
  }
}

type Growable = Int32Array | Uint32Array | Uint16Array;

/** A copy of `a` at least `min` long (doubling). */
function grown<T extends Growable>(a: T, min: number): T {
  let length = a.length * 2;
  while (length < min) length *= 2;
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
}
