/**
 * Fetches chunks of one brick: the sealed bytes come from the on-disk cache when it has
 * them, else from the store in as few ranged reads as their layout allows (chunks close
 * together in the brick are read in one range); each chunk is then authenticated,
 * decompressed and checked against its id, on the worker pool when there is one (so the
 * thread answering the kernel stays free). Errors name the brick; callers add the file.
 */
import type { BufferPool } from '../brick/buffer-pool';
import type { OpenPool } from '../brick/open-pool';
import { BrickBytes, coalesce, openSealed, pieceOf, readBrick, StretchPlan } from '../brick/reads';
import type { StoreKeys } from '../crypto/keys';
import type { Backend } from '../store/backend';
import { Semaphore } from '../store/limit';
import type { SealedChunkCache } from './sealed-cache';
import type { ChunkTable } from './tables';

/** Gaps up to this size between wanted chunks are read through rather than split into two requests. */
const MAX_GAP = 64 * 1024;

export interface FetcherOptions {
  /** Ranged store reads in flight at once. */
  parallel: number;
  sealedCache: SealedChunkCache | null;
  /** Memory for whole brick stretches kept for later reads (0: none). */
  spanBytes?: number;
  /** Workers that open chunks; without, they are opened on this thread. */
  pool?: OpenPool;
  /** Where the workers' plaintext buffers come from (the chunk cache gives them back). */
  plaintexts?: BufferPool;
}

export class ChunkFetcher {
  private readonly gate: Semaphore;
  private readonly gated: Pick<Backend, 'get'>;
  /** Per brick row, the stretch covering every chunk the archive uses, when dense enough. */
  private readonly dense = new Map<number, { start: number; end: number }>();
  /** Stretches read, most recently used last. */
  private readonly spans = new Map<number, Promise<Buffer>>();
  private spanHeld = 0;

  constructor(
    private readonly chunks: ChunkTable,
    backend: Backend,
    private readonly keys: StoreKeys,
    private readonly options: FetcherOptions,
  ) {
    // Bounds the store reads in flight, so read-ahead cannot flood the backend.
    this.gate = new Semaphore(options.parallel);
    this.gated = { get: (key, range) => this.gate.run(() => backend.get(key, range)) };
    if ((options.spanBytes ?? 0) > 0) this.planSpans(options.spanBytes!);
  }

  /**
   * Bricks most of whose bytes the archive uses are read as one stretch on first use and
   * kept a while: reading a brick's many small files through the mount is then one request
   * to the store, not one per file (S3).
   */
  private planSpans(limit: number): void {
    const c = this.chunks;
    const plan = new StretchPlan<number>();
    for (let r = 0; r < c.brick.length; r++) plan.add(c.brick[r]!, c.offset[r]!, c.storedLength[r]!);
    // Only the bounds are kept: the offsets noted would cost memory for every chunk of the archive.
    for (const [b, s] of plan.dense(limit / 2)) this.dense.set(b, { start: s.start, end: s.end });
  }

  private async span(b: number, hex: string): Promise<BrickBytes | null> {
    const plan = this.dense.get(b);
    if (!plan) return null;
    let bytes = this.spans.get(b);
    if (bytes) {
      this.spans.delete(b);
    } else {
      bytes = this.readRange(hex, plan.start, plan.end - plan.start);
      bytes.catch(() => this.spans.get(b) === bytes && this.forget(b));
      this.spanHeld += plan.end - plan.start;
      for (const old of this.spans.keys()) {
        if (this.spanHeld <= this.options.spanBytes!) break;
        this.forget(old);
      }
    }
    this.spans.set(b, bytes);
    return { start: plan.start, bytes: await bytes };
  }

  private forget(b: number): void {
    const plan = this.dense.get(b)!;
    if (this.spans.delete(b)) this.spanHeld -= plan.end - plan.start;
  }

  brickHex(row: number): string {
    const b = this.chunks.brick[row]!;
    return this.chunks.bricks.toString('hex', b * 32, b * 32 + 32);
  }

  /** The plaintexts of chunk rows that all live in one brick, in the order given. */
  async fetch(rows: readonly number[]): Promise<Buffer[]> {
    const first = rows[0];
    if (first === undefined) return [];
    const hex = this.brickHex(first);
    const c = this.chunks;
    const cache = this.options.sealedCache;
    const sealed: (Buffer | null)[] = await Promise.all(rows.map((r) => (cache ? cache.get(hex, c.offset[r]!, c.storedLength[r]!) : Promise.resolve(null))));
    const missing = rows.flatMap((_, i) => (sealed[i] ? [] : [i]));
    const take = (i: number, from: BrickBytes): void => {
      const r = rows[i]!;
      const piece = pieceOf(from, hex, c.offset[r]!, c.storedLength[r]!);
      sealed[i] = piece;
      void cache?.put(hex, c.offset[r]!, Buffer.from(piece));
    };
    const span = missing.length > 0 ? await this.span(c.brick[first]!, hex) : null;
    if (span) {
      for (const i of missing) take(i, span);
    } else {
      const reads = coalesce(missing.map((i) => ({ offset: c.offset[rows[i]!]!, length: c.storedLength[rows[i]!]! })), MAX_GAP);
      await Promise.all(
        reads.map(async (read) => {
          const bytes = await this.readRange(hex, read.start, read.end - read.start);
          for (const k of read.chunks) take(missing[k]!, { start: read.start, bytes });
        }),
      );
    }
    const pieces = rows.map((r, i) => ({ id: Buffer.from(c.ids.buffer, c.ids.byteOffset + r * 32, 32), plainLength: c.plainLength[r]!, sealed: sealed[i]! }));
    return openSealed(this.keys, this.options.pool, pieces, `brick ${hex}`, this.options.plaintexts);
  }

  private readRange(hex: string, offset: number, length: number): Promise<Buffer> {
    return readBrick(this.gated, hex, { offset, length });
  }
}
