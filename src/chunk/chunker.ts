/**
 * Content-defined chunking, FastCDC style (Xia et al., 2016/2020): a gear rolling hash,
 * no hashing of the first `min` bytes, and normalized chunking (a stricter mask before
 * the average size, a looser one after) for a tight size distribution. An insertion in
 * a file moves only the boundaries near it.
 *
 * `Chunker` is a streaming splitter: push() body data as it arrives, take whole chunks
 * out; finish() returns the rest. It holds one window of `max` bytes.
 */
export interface ChunkerParams {
  min: number;
  avg: number;
  max: number;
}

export const DEFAULT_CHUNKER_PARAMS: ChunkerParams = { min: 256 * 1024, avg: 1024 * 1024, max: 4 * 1024 * 1024 };

export function validateChunkerParams(p: ChunkerParams): void {
  const pow2 = (n: number): boolean => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
  if (!pow2(p.avg) || p.avg < 256 || p.avg > 64 * 1024 * 1024) throw new Error(`chunker average size must be a power of two between 256 B and 64 MiB`);
  if (!(Number.isInteger(p.min) && p.min >= 64 && p.min < p.avg && p.max > p.avg && p.max <= 64 * 1024 * 1024)) {
    throw new Error(`chunker sizes must satisfy 64 <= min < avg < max <= 64 MiB`);
  }
}

/** Masks over the high bits of the 32-bit hash (they depend on the last 32 bytes). */
function mask(bits: number): number {
  return ((2 ** bits - 1) * 2 ** (32 - bits)) | 0;
}

/** Length of the first chunk in buf[start, end), or 0 when more data is needed to decide. */
export function findBoundary(
  gear: Uint32Array,
  p: ChunkerParams,
  maskS: number,
  maskL: number,
  buf: Uint8Array,
  start: number,
  end: number,
  final: boolean,
): number {
  const len = end - start;
  if (len <= p.min) return final ? len : 0;
  const n = Math.min(len, p.max);
  const normal = Math.min(p.avg, n);
  let h = 0;
  let i = start + p.min;
  const stopS = start + normal;
  for (; i < stopS; i++) {
    h = ((h << 1) + gear[buf[i]!]!) | 0;
    if ((h & maskS) === 0) return i + 1 - start;
  }
  const stopL = start + n;
  for (; i < stopL; i++) {
    h = ((h << 1) + gear[buf[i]!]!) | 0;
    if ((h & maskL) === 0) return i + 1 - start;
  }
  return n === p.max || final ? n : 0;
}

/**
 * Where a streaming Chunker gets its windows of `max` bytes. The chunks it returns are
 * views of a window, so a window is handed to retire() once the chunker is done writing
 * to it; the owner may reuse it once it is done with those chunks. Ingest reuses them:
 * a fresh buffer per chunk was garbage that its thread freed only when the collector ran,
 * by when the allocator had grown by tens of MiB.
 */
export interface WindowPool {
  take(size: number): Buffer;
  retire(window: Buffer): void;
}

/** Fresh windows, left to the garbage collector. */
const FRESH_WINDOWS: WindowPool = { take: (size) => Buffer.allocUnsafe(size), retire: () => undefined };

export class Chunker {
  private readonly maskS: number;
  private readonly maskL: number;
  private buf: Buffer | null = null;
  private fill = 0;

  constructor(
    private readonly gear: Uint32Array,
    private readonly params: ChunkerParams,
    private readonly windows: WindowPool = FRESH_WINDOWS,
  ) {
    const bits = Math.round(Math.log2(params.avg));
    this.maskS = mask(Math.min(bits + 2, 31));
    this.maskL = mask(Math.max(bits - 2, 1));
  }

  /** Cuts a whole body at once, without copying: the chunks are views of `data`. */
  cutAll(data: Buffer): Buffer[] {
    const out: Buffer[] = [];
    for (let start = 0; start < data.length; ) {
      const n = findBoundary(this.gear, this.params, this.maskS, this.maskL, data, start, data.length, true);
      out.push(data.subarray(start, start + n));
      start += n;
    }
    return out;
  }

  /** Adds data; returns the chunks it completed (views of a window, see WindowPool). */
  push(data: Uint8Array): Buffer[] {
    const out: Buffer[] = [];
    let pos = 0;
    while (pos < data.length) {
      const buf = (this.buf ??= this.windows.take(this.params.max));
      const take = Math.min(data.length - pos, buf.length - this.fill);
      buf.set(data.subarray(pos, pos + take), this.fill);
      this.fill += take;
      pos += take;
      // Only cut with a full window of `max` bytes, so that a boundary never depends on
      // how the input happened to be split into pieces.
      if (this.fill === buf.length) this.drain(buf, out, false);
    }
    return out;
  }

  /** Ends the current stream (one file body); returns its remaining chunks. */
  finish(): Buffer[] {
    const out: Buffer[] = [];
    if (this.buf) this.drain(this.buf, out, true);
    return out;
  }

  /**
   * Cuts every chunk whose end is already decided: a boundary found in the bytes at hand is
   * where more bytes would put it too, and findBoundary answers 0 (wait) rather than force a
   * cut short of `max`. The rest moves to a new window, since the chunks view this one; it
   * is less than a chunk (cutting one chunk per full window moved three chunks' worth).
   */
  private drain(buf: Buffer, out: Buffer[], final: boolean): void {
    let start = 0;
    while (start < this.fill) {
      const n = findBoundary(this.gear, this.params, this.maskS, this.maskL, buf, start, this.fill, final);
      if (n === 0) break;
      out.push(buf.subarray(start, start + n));
      start += n;
    }
    const rest = this.fill - start;
    this.buf = rest > 0 ? this.windows.take(this.params.max) : null;
    this.buf?.set(buf.subarray(start, this.fill));
    this.fill = rest;
    this.windows.retire(buf);
  }
}
