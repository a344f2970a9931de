/**
 * Recycled buffers for the read path. Writing into memory touched for the first time costs
 * far more than the bytes: a page fault per 4 KiB, and on virtual machines often a fault in
 * the host too. Decompressing every chunk into a fresh buffer made the opening workers spend
 * most of their time faulting (bench/README.md, mount). Buffers of MIN_POOLED bytes and more
 * are handed out by size class and, once given back, handed out again with their pages
 * still mapped. Smaller ones come from malloc's own free lists, which reuse memory already.
 *
 * Only the owner of a buffer may give it back, and only once nothing else reads it: a
 * buffer given back is written again by the next taker.
 */

/** Below this, buffers are plain allocations. */
export const MIN_POOLED = 64 * 1024;

/** Four classes per doubling: a buffer is less than 25% larger than asked for. */
const STEPS = 4;

/** The capacity a buffer of `length` bytes is given: the next size class. */
export function classSize(length: number): number {
  if (length <= MIN_POOLED) return MIN_POOLED;
  const octave = 2 ** Math.floor(Math.log2(length));
  const step = octave / STEPS;
  return Math.ceil(length / step) * step;
}

export class BufferPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  /** What the free lists hold, oldest first: a buffer given back twice must not be handed out twice. */
  private readonly idle = new Set<ArrayBuffer>();
  private freeBytes = 0;

  constructor(
    /**
     * take() may hand out a buffer given back of a larger class, up to this many times the
     * length asked for. 1 for an owner that counts its memory by class (the mount's chunk cache).
     */
    private readonly slack = 1,
  ) {}

  /** Whether `length` bytes would come from the pool (else take() allocates exactly). */
  static pooled(length: number): boolean {
    return length >= MIN_POOLED;
  }

  /**
   * `length` bytes of undefined contents, at offset 0 of their own ArrayBuffer: a buffer given
   * back of the length's class, else of a larger one within the slack (chunks and reads vary
   * in size: held to exact classes, restore let go of a quarter of what it gave back, of no
   * use to the next chunks, and took fresh memory for them).
   */
  take(length: number): Buffer {
    if (!BufferPool.pooled(length)) return Buffer.allocUnsafeSlow(length);
    const size = classSize(length);
    for (let c = size; c <= this.slack * size; c = classSize(c + 1)) {
      const reused = this.free.get(c)?.pop();
      if (reused) {
        this.idle.delete(reused);
        this.freeBytes -= c;
        return Buffer.from(reused, 0, length);
      }
    }
    return Buffer.from(Buffer.allocUnsafeSlow(size).buffer, 0, length);
  }

  /**
   * Gives back a buffer from take() (or one shaped like it); anything else is ignored. What is
   * kept for reuse stays within `maxIdle` bytes: the oldest buffers kept make room for this
   * one (the collector frees them), which is not kept if it alone is larger.
   */
  give(buf: Uint8Array, maxIdle: number): void {
    const ab = buf.buffer;
    if (!(ab instanceof ArrayBuffer) || buf.byteOffset !== 0 || ab.byteLength < MIN_POOLED) return;
    const size = ab.byteLength;
    if (classSize(size) !== size || this.idle.has(ab) || size > maxIdle) return;
    for (const old of this.idle) {
      if (this.freeBytes + size <= maxIdle) break;
      const list = this.free.get(old.byteLength)!;
      list.splice(list.indexOf(old), 1);
      this.idle.delete(old);
      this.freeBytes -= old.byteLength;
    }
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(ab);
    this.idle.add(ab);
    this.freeBytes += size;
  }

  /** Bytes held for reuse. */
  get idleBytes(): number {
    return this.freeBytes;
  }
}
