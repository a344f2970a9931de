/**
 * Restore's plan of whole-brick reads. A pass over the index first notes, per brick, the
 * stretch covering every chunk the restore needs and how much of it is needed; where most
 * of a stretch is needed, it is read in one request when first used and kept until each of
 * its chunks has been read. Ingest fills bricks in archive order, so a restore walks them
 * roughly one after another: in S3 that is one GET per brick, not one per small file, and on
 * a local disk one read instead of thousands. A stretch's memory is recycled for the next.
 */
import { BufferPool } from '../brick/buffer-pool';
import type { SpanSource } from '../brick/reader';
import { BrickBytes, Stretch, StretchPlan } from '../brick/reads';
import type { ByteRange } from '../store/backend';
import type { BodyRef } from '../index/record';

/** A stretch worth reading whole; its offsets are those of the planned chunks not read yet. */
interface Plan extends Stretch {
  bytes?: Promise<Buffer>;
}

export class BrickSpans implements SpanSource {
  private readonly noted = new StretchPlan<string>();
  private readonly plans = new Map<string, Plan>();
  private held = 0;
  private readonly buffers = new BufferPool();

  constructor(
    private readonly maxHeldBytes: number,
    /** Only stretches whose chunks average at most this are read whole (see spanChunkLimit). */
    private readonly maxChunk = Infinity,
  ) {}

  /** Pre-pass: notes the chunks of one body. */
  add(body: BodyRef): void {
    for (const c of body.chunks) this.noted.add(c.brick.toString('hex'), c.offset, c.storedLength);
  }

  /** After the pre-pass: keeps only the stretches worth reading whole. */
  finish(): void {
    for (const [hex, s] of this.noted.dense(this.maxHeldBytes, this.maxChunk)) this.plans.set(hex, s);
  }

  async withSpan<T>(hex: string, read: (range: ByteRange, into: Buffer) => Promise<Buffer>, use: (span: BrickBytes) => T): Promise<T | null> {
    const p = this.plans.get(hex);
    if (!p) return null;
    if (!p.bytes) {
      // Past the memory bound, this brick is read by ranges like any other.
      const length = p.end - p.start;
      if (this.held + length > this.maxHeldBytes) return null;
      this.held += length;
      p.bytes = read({ offset: p.start, length }, this.buffers.take(length));
      p.bytes.catch(() => this.drop(hex, p));
    }
    const bytes = await p.bytes;
    // Dropped while this waited: its memory may be another stretch's by now.
    if (this.plans.get(hex) !== p) return null;
    return use({ start: p.start, bytes });
  }

  release(hex: string, offsets: readonly number[]): void {
    const p = this.plans.get(hex);
    if (!p) return;
    for (const o of offsets) p.offsets.delete(o);
    if (p.offsets.size === 0) this.drop(hex, p);
  }

  private drop(hex: string, p: Plan): void {
    if (this.plans.get(hex) !== p) return;
    this.plans.delete(hex);
    if (!p.bytes) return;
    this.held -= p.end - p.start;
    // Waiting users check first (their reactions came earlier); a read in flight finishes first.
    p.bytes.then(
      (buf) => this.buffers.give(buf, this.maxHeldBytes - this.held),
      () => undefined,
    );
  }
}
