/**
 * What the remaining archives use, kept as one bit per chunk of each brick the catalogue lists.
 * An index record names a chunk by its brick and offset, so marking an archive's references
 * needs neither their ids nor anything of the archive once its index has streamed past:
 * memory follows the chunks in the store (about 8 bytes each: offset, length, bit), not the
 * archives, however many use them.
 */
import type { MovedChunk } from '../brick/moved';
import type { BrickRecord } from '../catalogue/segment';

/** What a brick's chunks are to the remaining archives. */
export interface BrickUsage {
  dead: number;
  live: number;
  /** Runs of adjacent live chunks: the ranged reads a repack makes. */
  liveRuns: number;
}

interface Layout {
  /** The brick's chunks by offset, ascending, with their stored lengths. */
  offsets: Uint32Array;
  lengths: Uint32Array;
  /** Bit i: the chunk at offsets[i] is used. */
  used: Uint8Array;
  /** Listed in the catalogue (a repacked brick out of it is known by its forwarding record only). */
  catalogued: boolean;
}

function layoutOf(chunks: { offset: number; storedLength: number }[], catalogued: boolean): Layout {
  chunks.sort((x, y) => x.offset - y.offset);
  return {
    offsets: Uint32Array.from(chunks, (c) => c.offset),
    lengths: Uint32Array.from(chunks, (c) => c.storedLength),
    used: new Uint8Array((chunks.length + 7) >> 3),
    catalogued,
  };
}

export class LiveSet {
  private readonly layouts = new Map<string, Layout>();
  /** Bricks some archive references, listed in the catalogue or not. */
  readonly bricks = new Set<string>();
  /** The brick of the last reference: consecutive ones are mostly in one brick, and skip its hex. */
  private lastBrick: Buffer | null = null;
  private lastLayout: Layout | undefined;
  private marked = 0;

  /** A brick as the catalogue lists it; a brick listed twice keeps its first record. */
  addBrick(r: BrickRecord): void {
    const hex = r.id.toString('hex');
    if (this.layouts.has(hex)) return;
    this.layouts.set(hex, layoutOf([...r.chunks], true));
  }

  /** A repacked brick the catalogue no longer lists: its chunks as its forwarding record names them, so that references to it mark. */
  addMoved(hex: string, record: ReadonlyMap<number, MovedChunk>): void {
    if (this.layouts.has(hex)) return;
    this.layouts.set(hex, layoutOf([...record.values()].map((m) => ({ offset: m.oldOffset, storedLength: m.storedLength })), false));
  }

  /** Marks where the used chunks of repacked brick `hex` lie now; returns how many places it marked anew. */
  follow(hex: string, record: ReadonlyMap<number, MovedChunk>): number {
    const l = this.layouts.get(hex);
    if (!l) return 0;
    let marked = 0;
    for (let i = 0; i < l.offsets.length; i++) {
      if (!(l.used[i >> 3]! & (1 << (i & 7)))) continue;
      const m = record.get(l.offsets[i]!);
      if (m && this.mark({ brick: m.newBrick, offset: m.newOffset })) marked++;
    }
    return marked;
  }

  /** Whether every used chunk of catalogued brick `hex` passes `test`; true for a brick the catalogue does not list. */
  everyUsed(hex: string, test: (offset: number, storedLength: number) => boolean): boolean {
    const l = this.layouts.get(hex);
    if (!l?.catalogued) return true;
    for (let i = 0; i < l.offsets.length; i++) {
      if (l.used[i >> 3]! & (1 << (i & 7)) && !test(l.offsets[i]!, l.lengths[i]!)) return false;
    }
    return true;
  }

  /** Whether an archive uses the chunk at `offset` of brick `hex`. */
  isUsed(hex: string, offset: number): boolean {
    const l = this.layouts.get(hex);
    const i = l ? indexOf(l.offsets, offset) : -1;
    return i >= 0 && (l!.used[i >> 3]! & (1 << (i & 7))) !== 0;
  }

  /** Marks a chunk an archive references (true if it was not marked yet); its brick is live even when the catalogue does not list it. */
  mark(ref: { brick: Buffer; offset: number }): boolean {
    if (this.lastBrick === null || !ref.brick.equals(this.lastBrick)) {
      const hex = ref.brick.toString('hex');
      this.bricks.add(hex);
      this.lastBrick = ref.brick;
      this.lastLayout = this.layouts.get(hex);
    }
    const l = this.lastLayout;
    if (!l) return false;
    const i = indexOf(l.offsets, ref.offset);
    if (i < 0 || l.used[i >> 3]! & (1 << (i & 7))) return false;
    l.used[i >> 3]! |= 1 << (i & 7);
    if (l.catalogued) this.marked++;
    return true;
  }

  /** Chunks of catalogued bricks that some archive uses. */
  get chunks(): number {
    return this.marked;
  }

  /** The live and dead bytes of a catalogued brick (by hex id); undefined for one the catalogue does not list. */
  usage(hex: string): BrickUsage | undefined {
    const l = this.layouts.get(hex);
    if (!l?.catalogued) return undefined;
    const u: BrickUsage = { dead: 0, live: 0, liveRuns: 0 };
    let lastLive = false;
    for (let i = 0; i < l.offsets.length; i++) {
      const isLive = (l.used[i >> 3]! & (1 << (i & 7))) !== 0;
      if (isLive) {
        u.live += l.lengths[i]!;
        if (!lastLive) u.liveRuns++;
      } else u.dead += l.lengths[i]!;
      lastLive = isLive;
    }
    return u;
  }
}

/** The index of `offset` in the ascending `offsets`, or -1. */
function indexOf(offsets: Uint32Array, offset: number): number {
  let lo = 0;
  let hi = offsets.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = offsets[mid]!;
    if (v === offset) return mid;
    if (v < offset) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
