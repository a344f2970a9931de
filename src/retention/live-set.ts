/**
 * What the remaining archives use, kept as one bit per chunk of each brick the catalogue lists.
 * An index record names a chunk by its brick and offset, so marking an archive's references
 * needs neither their ids nor anything of the archive once its index has streamed past:
 * memory follows the chunks in the store (about 8 bytes each: offset, length, bit), not the
 * archives, however many use them.
 */
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
    const chunks = [...r.chunks].sort((x, y) => x.offset - y.offset);
    this.layouts.set(hex, {
      offsets: Uint32Array.from(chunks, (c) => c.offset),
      lengths: Uint32Array.from(chunks, (c) => c.storedLength),
      used: new Uint8Array((chunks.length + 7) >> 3),
    });
  }

  /** Marks a chunk an archive references; its brick is live even when the catalogue does not list it. */
  mark(ref: { brick: Buffer; offset: number }): void {
    if (this.lastBrick === null || !ref.brick.equals(this.lastBrick)) {
      const hex = ref.brick.toString('hex');
      this.bricks.add(hex);
      this.lastBrick = ref.brick;
      this.lastLayout = this.layouts.get(hex);
    }
    const l = this.lastLayout;
    if (!l) return;
    const i = indexOf(l.offsets, ref.offset);
    if (i < 0 || l.used[i >> 3]! & (1 << (i & 7))) return;
    l.used[i >> 3]! |= 1 << (i & 7);
    this.marked++;
  }

  /** Chunks of catalogued bricks that some archive uses. */
  get chunks(): number {
    return this.marked;
  }

  /** The live and dead bytes of a catalogued brick (by hex id); undefined for one the catalogue does not list. */
  usage(hex: string): BrickUsage | undefined {
    const l = this.layouts.get(hex);
    if (!l) return undefined;
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
