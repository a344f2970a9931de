/**
 * A compact hash table from 32-byte chunk id to its place in a brick: 48 bytes per chunk
 * in two flat arrays (open addressing, linear probing), so that the catalogue of a large
 * store fits in memory where a Map of strings would take four times as much. Chunk ids
 * are MAC outputs, hence uniformly distributed: their first bytes are the hash.
 */
export interface ChunkLocation {
  /** Index into the catalogue's brick list. */
  brick: number;
  offset: number;
  storedLength: number;
  plainLength: number;
}

const ID = 32;
const VALS = 4;

export class ChunkTable {
  private keys: Buffer;
  private vals: Uint32Array;
  private mask: number;
  private used = 0;

  constructor(initialCapacity = 1024) {
    let cap = 1024;
    while (cap < initialCapacity * 2) cap *= 2;
    this.keys = Buffer.alloc(cap * ID);
    this.vals = new Uint32Array(cap * VALS);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.used;
  }

  private slot(id: Uint8Array): number {
    let i = (id[0]! | (id[1]! << 8) | (id[2]! << 16) | (id[3]! << 24)) & this.mask;
    for (;;) {
      if (this.vals[i * VALS] === 0) return i;
      if (this.keys.compare(id, 0, ID, i * ID, i * ID + ID) === 0) return i;
      i = (i + 1) & this.mask;
    }
  }

  get(id: Uint8Array): ChunkLocation | undefined {
    const i = this.slot(id);
    const v = i * VALS;
    if (this.vals[v] === 0) return undefined;
    return { brick: this.vals[v]! - 1, offset: this.vals[v + 1]!, storedLength: this.vals[v + 2]!, plainLength: this.vals[v + 3]! };
  }

  has(id: Uint8Array): boolean {
    return this.vals[this.slot(id) * VALS] !== 0;
  }

  /** Adds id unless present; returns false when it was already there (first place wins). */
  add(id: Uint8Array, loc: ChunkLocation): boolean {
    if (id.length !== ID) throw new Error('chunk id must be 32 bytes');
    const i = this.slot(id);
    const v = i * VALS;
    if (this.vals[v] !== 0) return false;
    this.keys.set(id, i * ID);
    this.vals[v] = loc.brick + 1;
    this.vals[v + 1] = loc.offset;
    this.vals[v + 2] = loc.storedLength;
    this.vals[v + 3] = loc.plainLength;
    this.used++;
    if (this.used * 10 > (this.mask + 1) * 7) this.grow();
    return true;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldVals = this.vals;
    const oldCap = this.mask + 1;
    const cap = oldCap * 2;
    this.keys = Buffer.alloc(cap * ID);
    this.vals = new Uint32Array(cap * VALS);
    this.mask = cap - 1;
    for (let j = 0; j < oldCap; j++) {
      if (oldVals[j * VALS] === 0) continue;
      const id = oldKeys.subarray(j * ID, j * ID + ID);
      const i = this.slot(id);
      this.keys.set(id, i * ID);
      this.vals.set(oldVals.subarray(j * VALS, j * VALS + VALS), i * VALS);
    }
  }
}
