/**
 * The plaintext chunk cache: an LRU bounded in bytes that holds the promise of each chunk,
 * so a chunk being fetched is shared by every reader that wants it meanwhile, and a chunk
 * is never fetched twice at once. Missing chunks asked for together are grouped by brick,
 * so that neighbours in one brick come in one ranged read.
 */
import { LRUCache } from 'lru-cache';
import type { ChunkFetcher } from './fetch';
import type { ChunkTable } from './tables';

export const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;

export class ChunkCache {
  private readonly lru: LRUCache<string, Promise<Buffer>>;

  constructor(
    private readonly chunks: ChunkTable,
    private readonly fetcher: ChunkFetcher,
    maxBytes: number = DEFAULT_CACHE_BYTES,
  ) {
    this.lru = new LRUCache<string, Promise<Buffer>>({ maxSize: Math.max(1, maxBytes) });
  }

  /** A stored chunk is one brick range, whichever files refer to it. */
  private keyOf(row: number): string {
    return `${this.chunks.brick[row]!}:${this.chunks.offset[row]!}`;
  }

  /** Plaintext of each chunk row, in the order given; fetches start at once for those not cached. */
  get(rows: readonly number[]): Promise<Buffer>[] {
    const out: Promise<Buffer>[] = new Array<Promise<Buffer>>(rows.length);
    const byBrick = new Map<number, { rows: number[]; settle: ((r: Promise<Buffer[]>) => void)[] }>();
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const key = this.keyOf(row);
      const hit = this.lru.get(key);
      if (hit) {
        out[i] = hit;
        continue;
      }
      const brick = this.chunks.brick[row]!;
      let group = byBrick.get(brick);
      if (!group) byBrick.set(brick, (group = { rows: [], settle: [] }));
      const k = group.rows.push(row) - 1;
      const p = new Promise<Buffer>((resolve, reject) => {
        group.settle.push((all) => all.then((bufs) => resolve(bufs[k]!), reject));
      });
      // Failures are not cached: the next read tries the store again.
      p.catch(() => {
        if (this.lru.peek(key) === p) this.lru.delete(key);
      });
      this.lru.set(key, p, { size: Math.max(1, this.chunks.plainLength[row]!) });
      out[i] = p;
    }
    for (const group of byBrick.values()) {
      const all = this.fetcher.fetch(group.rows);
      for (const settle of group.settle) settle(all);
    }
    return out;
  }

  /** Starts fetching chunks not yet cached, for read-ahead; errors surface when they are read. */
  prefetch(rows: readonly number[]): void {
    for (const p of this.get(rows)) p.catch(() => undefined);
  }

  /** Bytes of chunks held or being fetched. */
  get size(): number {
    return this.lru.calculatedSize;
  }

  get maxBytes(): number {
    return this.lru.maxSize;
  }
}
