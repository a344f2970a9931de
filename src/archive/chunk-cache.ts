/**
 * The plaintext chunk cache: an LRU bounded in bytes whose entries are fetched once, so a
 * chunk being fetched is shared by every reader that wants it meanwhile, and a chunk is
 * never fetched twice at once. Missing chunks asked for together are grouped by brick,
 * so that neighbours in one brick come in one ranged read.
 *
 * A chunk read to its end moves to a smaller tier of its own (an eighth of the bytes),
 * evicted first: one pass over a large file (tar, cp) then cycles through a few megabytes
 * of warm buffers instead of filling the whole cache with chunks nobody reads again (the
 * kernel keeps the pages it was given), while chunks fetched ahead stay until they are read.
 *
 * Plaintext buffers are recycled: an evicted chunk's buffer goes back to the pool the
 * workers decompress into, which keeps it while the cache and the pool together hold no
 * more than the cache's size (read-ahead comes in bursts: a pool bounded on its own let go
 * of buffers that the next burst then had to fault in afresh). So no reader may keep a plaintext: readers wait for an entry,
 * then copy out of it synchronously (copy()), and fetch again in the rare case that it was
 * evicted while they waited.
 */
import { LRUCache } from 'lru-cache';
import { BufferPool, classSize } from '../read/buffer-pool';
import type { ChunkSource } from '../read/chunks';
import type { ChunkTable } from './tables';

export const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;

/** A cached chunk: `plain` is set once it is opened, and cleared when it is evicted. */
export interface CachedChunk {
  readonly ready: Promise<void>;
  plain: Buffer | null;
  evicted: boolean;
}

export class ChunkCache {
  /** Chunks fetched and not yet read to their end. */
  private readonly lru: LRUCache<string, CachedChunk>;
  /** Chunks read to their end. */
  private readonly done: LRUCache<string, CachedChunk>;
  /** Set while an entry moves between tiers, which must not release its buffer. */
  private moving = false;

  constructor(
    private readonly chunks: ChunkTable,
    private readonly source: ChunkSource,
    maxBytes: number = DEFAULT_CACHE_BYTES,
    /** The pool the fetcher's plaintexts come from, if any: evicted buffers go back to it. */
    private readonly buffers?: BufferPool,
  ) {
    const dispose = (entry: CachedChunk): void => {
      if (!this.moving) this.dropped(entry);
    };
    const doneBytes = Math.max(1, Math.floor(maxBytes / 8));
    this.lru = new LRUCache<string, CachedChunk>({ maxSize: Math.max(1, maxBytes - doneBytes), dispose });
    this.done = new LRUCache<string, CachedChunk>({ maxSize: doneBytes, dispose });
  }

  /** A stored chunk is one brick range, whichever files refer to it. */
  private keyOf(row: number): string {
    return `${this.chunks.brick[row]!}:${this.chunks.offset[row]!}`;
  }

  /** Memory an entry holds: what its buffer was given, not just its length. */
  private sizeOf(row: number): number {
    const n = this.chunks.plainLength[row]!;
    return this.buffers && BufferPool.pooled(n) ? classSize(n) : Math.max(1, n);
  }

  /** The entry of each chunk row, in the order given; fetches start at once for those not cached. */
  load(rows: readonly number[]): CachedChunk[] {
    const out = new Array<CachedChunk>(rows.length);
    const byBrick = new Map<number, { rows: number[]; entries: CachedChunk[]; settle: ((e?: unknown) => void)[] }>();
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const key = this.keyOf(row);
      const hit = this.lru.get(key) ?? this.done.get(key);
      if (hit) {
        out[i] = hit;
        continue;
      }
      const brick = this.chunks.brick[row]!;
      let group = byBrick.get(brick);
      if (!group) byBrick.set(brick, (group = { rows: [], entries: [], settle: [] }));
      let settle!: (e?: unknown) => void;
      const ready = new Promise<void>((resolve, reject) => (settle = (e) => (e === undefined ? resolve() : reject(e))));
      const entry: CachedChunk = { ready, plain: null, evicted: false };
      // Failures are not cached: the next read tries the store again.
      ready.catch(() => {
        if (this.lru.peek(key) === entry) this.lru.delete(key);
        if (this.done.peek(key) === entry) this.done.delete(key);
      });
      group.rows.push(row);
      group.entries.push(entry);
      group.settle.push(settle);
      this.lru.set(key, entry, { size: this.sizeOf(row) });
      out[i] = entry;
    }
    for (const group of byBrick.values()) {
      this.fetch(group.rows).forEach((fetched, k) => {
        const entry = group.entries[k]!;
        fetched.then(
          (plain) => {
            // Evicted while it was being fetched: nobody can read it any more.
            if (entry.evicted) this.release(plain);
            else entry.plain = plain;
            group.settle[k]!();
          },
          (e: unknown) => group.settle[k]!(e ?? new Error('chunk fetch failed')),
        );
      });
    }
    return out;
  }

  /**
   * Copies bytes [start, end) of a chunk's plaintext into `target` at `at`, waiting for it to
   * be fetched. Store and integrity errors reject.
   */
  async copy(row: number, target: Buffer, at: number, start: number, end: number, entry = this.load([row])[0]!): Promise<void> {
    // An entry can be evicted between its fetch and this reader's turn only when the cache is
    // small against what is read at once; after a few tries the chunk is read uncached.
    for (let tries = 0; tries < 3; tries++) {
      await entry.ready;
      if (this.copyNow(row, target, at, start, end, entry)) return;
      entry = this.load([row])[0]!;
    }
    const plain = await this.fetch([row])[0]!;
    plain.copy(target, at, start, end);
    this.release(plain);
  }

  /** The plaintexts of chunk rows that all live in one brick, each settling on its own. */
  private fetch(rows: readonly number[]): Promise<Buffer>[] {
    const c = this.chunks;
    const b = c.brick[rows[0]!]!;
    const chunks = rows.map((r) => ({ id: Buffer.from(c.ids.buffer, c.ids.byteOffset + r * 32, 32), offset: c.offset[r]!, storedLength: c.storedLength[r]!, plainLength: c.plainLength[r]! }));
    return this.source.fetchEach(c.bricks.toString('hex', b * 32, b * 32 + 32), chunks);
  }

  /** copy() if the chunk is there now: false when it is still being fetched or was evicted. */
  copyNow(row: number, target: Buffer, at: number, start: number, end: number, entry: CachedChunk): boolean {
    if (!entry.plain) return false;
    entry.plain.copy(target, at, start, end);
    if (end === entry.plain.length) this.readToEnd(row, entry);
    return true;
  }

  /** An entry leaves the cache: readers still waiting on it fetch again. */
  private dropped(entry: CachedChunk): void {
    entry.evicted = true;
    if (entry.plain) this.release(entry.plain);
    entry.plain = null;
  }

  private release(plain: Buffer): void {
    this.buffers?.give(plain, this.maxBytes - this.size);
  }

  private readToEnd(row: number, entry: CachedChunk): void {
    const key = this.keyOf(row);
    if (this.lru.peek(key) !== entry) return;
    this.moving = true;
    try {
      this.lru.delete(key);
    } finally {
      this.moving = false;
    }
    const size = this.sizeOf(row);
    if (size <= this.done.maxSize) this.done.set(key, entry, { size });
    else this.dropped(entry); // too large for the tier: done with
  }

  /** Starts fetching chunks not yet cached, for read-ahead; errors surface when they are read. */
  prefetch(rows: readonly number[]): void {
    for (const e of this.load(rows)) e.ready.catch(() => undefined);
  }

  /** Bytes of chunks held or being fetched. */
  get size(): number {
    return this.lru.calculatedSize + this.done.calculatedSize;
  }

  get maxBytes(): number {
    return this.lru.maxSize + this.done.maxSize;
  }
}
