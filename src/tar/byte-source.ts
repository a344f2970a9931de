/**
 * Pulls bytes from an async iterable of chunks of any size and tracks the input offset.
 * Small reads (header blocks) are copied so nothing retained pins a large input chunk;
 * bulk reads (bodies, tail) are handed out as zero-copy slices of the input chunks.
 */

import { BLOCK, zeroPadding } from './header';

const EMPTY = Buffer.alloc(0);

const ZEROS = Buffer.alloc(BLOCK);
/** Long padding is compared natively; on short padding (most bodies') the call costs more than a plain loop. */
const NATIVE_FROM = 64;

function allZero(b: Buffer, from: number, to: number): boolean {
  if (to - from >= NATIVE_FROM) return b.compare(ZEROS, 0, to - from, from, to) === 0;
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

export class ByteSource {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private chunk: Buffer = EMPTY;
  private pos = 0;
  private ended = false;
  /** Input offset of the next unread byte. */
  offset = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Makes sure unread bytes are buffered; false at the end of the input. */
  private async fill(): Promise<boolean> {
    while (this.pos >= this.chunk.length) {
      if (this.ended) return false;
      const next = await this.iterator.next();
      if (next.done) {
        this.ended = true;
        this.chunk = EMPTY;
        this.pos = 0;
        return false;
      }
      this.chunk = asBuffer(next.value);
      this.pos = 0;
    }
    return true;
  }

  /** Lets the input go when the reader stops before its end (a file source closes its file). */
  async close(): Promise<void> {
    await this.iterator.return?.();
  }

  /**
   * `n` bytes copied into a new buffer when the current input chunk holds them all, else null
   * (then read() them). An await per header block slowed loading an index (bench/README.md).
   */
  readBuffered(n: number): Buffer | null {
    if (this.pos + n > this.chunk.length) return null;
    const out = Buffer.allocUnsafe(n);
    this.chunk.copy(out, 0, this.pos, this.pos + n);
    this.pos += n;
    this.offset += n;
    return out;
  }

  /** Reads up to `n` bytes into a new buffer; shorter only when the input ends first. */
  async read(n: number): Promise<Buffer> {
    const out = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      // Await only when the buffered chunk is used up: awaits dominate the cost of small chunks.
      if (this.pos >= this.chunk.length && !(await this.fill())) return out.subarray(0, got);
      const take = Math.min(n - got, this.chunk.length - this.pos);
      this.chunk.copy(out, got, this.pos, this.pos + take);
      this.pos += take;
      got += take;
      this.offset += take;
    }
    return out;
  }

  /**
   * Like read, for padding: bytes that are all zero (nearly always) come back as a slice of
   * one shared zero buffer, which costs no allocation; callers must not write into it.
   */
  async readPadding(n: number): Promise<Buffer> {
    return this.readPaddingBuffered(n) ?? this.read(n);
  }

  /**
   * readBuffered(n), kept only when `accept` takes the copy; else null and nothing read. Testing
   * the copy rather than a view of the input saves a view per read (a header block per entry).
   */
  readBufferedIf(n: number, accept: (bytes: Buffer) => boolean): Buffer | null {
    const bytes = this.readBuffered(n);
    if (!bytes || accept(bytes)) return bytes;
    this.pos -= n;
    this.offset -= n;
    return null;
  }

  /** readBuffered(n) then readPaddingBuffered(pad) when the current input chunk holds both, else null (nothing read). */
  readBufferedPair(n: number, pad: number): { body: Buffer; padding: Buffer } | null {
    if (this.pos + n + pad > this.chunk.length) return null;
    const body = this.readBuffered(n)!;
    return { body, padding: this.readPaddingBuffered(pad)! };
  }

  /** The bytes read since input offset `from`, as a view, when the current input chunk still holds them all; else null. */
  readSince(from: number): Buffer | null {
    const start = this.pos - (this.offset - from);
    return start >= 0 ? this.chunk.subarray(start, this.pos) : null;
  }

  /** readPadding when the current input chunk holds all `n` bytes, else null. */
  readPaddingBuffered(n: number): Buffer | null {
    if (n <= BLOCK && this.pos + n <= this.chunk.length && allZero(this.chunk, this.pos, this.pos + n)) {
      this.pos += n;
      this.offset += n;
      return zeroPadding(n);
    }
    return this.readBuffered(n);
  }

  /** The next at most `max` bytes as a slice of the current input chunk; undefined at the end of the input. */
  async slice(max: number): Promise<Buffer | undefined> {
    if (this.pos >= this.chunk.length && !(await this.fill())) return undefined;
    const take = Math.min(max, this.chunk.length - this.pos);
    const out = this.chunk.subarray(this.pos, this.pos + take);
    this.pos += take;
    this.offset += take;
    return out;
  }

  /** Skips up to `n` bytes; returns how many were skipped (fewer only at the end of the input). */
  async skip(n: number): Promise<number> {
    let skipped = 0;
    while (skipped < n) {
      if (this.pos >= this.chunk.length && !(await this.fill())) break;
      const take = Math.min(n - skipped, this.chunk.length - this.pos);
      this.pos += take;
      skipped += take;
      this.offset += take;
    }
    return skipped;
  }
}
