/**
 * Brick stretches read whole and kept for later chunk reads, for every reader: where the
 * chunks a reader will want use most of a stretch of a brick (StretchPlan), the stretch is
 * read in one request on first use, so that a brick's many small files cost one GET in S3,
 * or one read on a local disk, not one per file. Ingest fills bricks in archive order, so a
 * restore walks them roughly one after another.
 *
 * A stretch is kept until memory runs short, least recently used first, or, where the reader
 * said which chunks it will read (restore, extract), until each of them has been read; such
 * a stretch, once let go early, is not read again (its last chunks are read by ranges). A
 * stretch's memory is recycled for the next one, so users only see it synchronously.
 */
import type { ByteRange } from '../store/backend';
import { BufferPool } from './buffer-pool';
import type { Stretch, StretchPlan } from './plan';

/** Bytes read from a brick for [start, end): fewer where the brick ends sooner (it is truncated). */
export interface BrickBytes {
  start: number;
  end: number;
  bytes: Buffer;
}

/** A stretch to read whole: its bounds, and the offsets of the chunks still to be read from it, if known. */
export interface PlannedStretch {
  start: number;
  end: number;
  offsets?: Set<number>;
}

interface Held {
  plan: PlannedStretch;
  bytes: Promise<Buffer>;
}

export class StretchCache {
  /** Stretches read or being read, least recently used first. */
  private readonly held = new Map<string, Held>();
  private heldBytes = 0;
  private readonly buffers = new BufferPool();

  constructor(
    private readonly planned: Map<string, PlannedStretch>,
    readonly maxBytes: number,
  ) {}

  /**
   * The stretches of `plan` worth reading whole for a reader with `maxBytes` of memory for
   * them: each at most half of it, so that the next brick's stretch can be read while the
   * last one's final chunks are; of chunks averaging at most `maxChunk` (ReadShape). With
   * `track`, each is let go once its chunks have been read (see release()).
   */
  static of<K>(plan: StretchPlan<K>, maxBytes: number, maxChunk: number, name: (brick: K) => string, track: boolean): StretchCache {
    const planned = new Map<string, PlannedStretch>();
    for (const [brick, s] of plan.dense(maxBytes / 2, maxChunk)) planned.set(name(brick), track ? s : bounds(s));
    return new StretchCache(planned, maxBytes);
  }

  /**
   * Runs `use` on the stretch of brick `hex`, synchronously once its bytes are in (reading it
   * with `read`, which may read into the buffer it is given); null when the brick has no
   * stretch, or it was let go while this waited. `use` must copy what it keeps.
   */
  async with<T>(hex: string, read: (range: ByteRange, into: Buffer) => Promise<Buffer>, use: (stretch: BrickBytes) => T): Promise<T | null> {
    const plan = this.planned.get(hex);
    if (!plan) return null;
    let h = this.held.get(hex);
    if (h) {
      this.held.delete(hex);
      this.held.set(hex, h);
    } else {
      const length = plan.end - plan.start;
      const entry: Held = { plan, bytes: read({ offset: plan.start, length }, this.buffers.take(length)) };
      // A stretch that could not be read stays planned: the next use tries again.
      entry.bytes.catch(() => this.letGo(hex, entry));
      this.held.set(hex, (h = entry));
      this.heldBytes += length;
      for (const [old, o] of this.held) {
        if (this.heldBytes <= this.maxBytes || old === hex) break;
        this.letGo(old, o);
        if (o.plan.offsets) this.planned.delete(old);
      }
    }
    const bytes = await h.bytes;
    // Let go while this waited: its memory may be another stretch's by now.
    if (this.held.get(hex) !== h) return null;
    return use({ start: plan.start, end: plan.end, bytes });
  }

  /** These chunks of brick `hex` have been read; a stretch whose chunks are known is let go once all have. */
  release(hex: string, offsets: Iterable<number>): void {
    const plan = this.planned.get(hex);
    if (!plan?.offsets) return;
    for (const o of offsets) plan.offsets.delete(o);
    if (plan.offsets.size > 0) return;
    this.planned.delete(hex);
    const h = this.held.get(hex);
    if (h) this.letGo(hex, h);
  }

  /** Bytes of stretches read or being read. */
  get size(): number {
    return this.heldBytes;
  }

  private letGo(hex: string, h: Held): void {
    if (this.held.get(hex) !== h) return;
    this.held.delete(hex);
    this.heldBytes -= h.plan.end - h.plan.start;
    // Waiting users check first (their reactions came earlier); a read in flight finishes first.
    h.bytes.then(
      (buf) => this.buffers.give(buf, this.maxBytes - this.heldBytes),
      () => undefined,
    );
  }
}

/** Only the bounds: a reader that does not say which chunks it reads keeps no set of offsets per brick. */
function bounds(s: Stretch): PlannedStretch {
  return { start: s.start, end: s.end };
}
