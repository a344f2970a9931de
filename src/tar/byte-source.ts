/**
 * Pulls bytes from an async iterable of chunks of any size and tracks the input offset.
 * Small reads (header blocks) are copied so nothing retained pins a large input chunk;
 * bulk reads (bodies, tail) are handed out as zero-copy slices of the input chunks.
 */

import { BLOCK, zeroPadding } from './header';

const EMPTY = Buffer.alloc(0);

/**
 * Whether bytes [from, to) of `b` are all zero: a word at a time where `words` (b's, or empty)
 * allows. A native compare per padding cost more than the words (every index record is padded).
 */
function allZero(b: Buffer, words: Uint32Array<ArrayBufferLike>, from: number, to: number): boolean {
  let i = from;
  if (words.length > 0) {
    for (; i < to && (i & 3) !== 0; i++) if (b[i] !== 0) return false;
    for (let w = i >>> 2, end = to >>> 2; w < end; w++, i += 4) if (words[w] !== 0) return false;
  }
  for (; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** Copies of at most half a slab are cut from slabs of this size, as Buffer's pool does (and holds as long). */
const SLAB_BYTES = 8192;
const NO_WORDS: Uint32Array<ArrayBufferLike> = new Uint32Array(0);

/** The 32-bit words of `b` when it starts at a multiple of 4 bytes, else none. */
function wordsOf(b: Buffer): Uint32Array<ArrayBufferLike> {
  return b.byteOffset % 4 === 0 ? new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2) : NO_WORDS;
}

export class ByteSource {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private chunk: Buffer = EMPTY;
  /** The chunk's words (empty when it is not aligned): aligned copies are made a word at a time. */
  private chunkWords = NO_WORDS;
  /** Where small copies are cut from; `slabAt` is kept at a multiple of 8. */
  private slab: Buffer = EMPTY;
  private slabWords = NO_WORDS;
  private slabAt = 0;
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
      this.chunkWords = wordsOf(this.chunk);
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
    const out = n <= SLAB_BYTES / 2 ? this.copySmall(n) : Buffer.from(this.chunk.subarray(this.pos, this.pos + n));
    this.pos += n;
    this.offset += n;
    return out;
  }

  /**
   * The next `n` buffered bytes copied into the slab, a word at a time when the chunk's bytes
   * are aligned (header blocks and most records are): two copies per index entry through
   * Buffer's pool and copy() made three objects each and were a sixth of loading an index.
   */
  private copySmall(n: number): Buffer {
    if (this.slabAt + n > this.slab.length) {
      this.slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.slabWords = wordsOf(this.slab);
      this.slabAt = 0;
    }
    const at = this.slabAt;
    const out = this.slab.subarray(at, at + n);
    this.slabAt = (at + n + 7) & ~7;
    const from = this.pos;
    let i = 0;
    if ((from & 3) === 0 && this.chunkWords.length > 0) {
      const src = this.chunkWords;
      const dst = this.slabWords;
      for (let w = from >>> 2, o = at >>> 2, end = w + (n >>> 2); w < end; w++, o++) dst[o] = src[w]!;
      i = n & ~3;
    }
    const chunk = this.chunk;
    const slab = this.slab;
    for (; i < n; i++) slab[at + i] = chunk[from + i]!;
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
    if (n <= BLOCK && this.pos + n <= this.chunk.length && allZero(this.chunk, this.chunkWords, this.pos, this.pos + n)) {
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
