/**
 * Fetches chunks of one brick: the sealed bytes come from the on-disk cache when it has
 * them, else from the store in as few ranged reads as their layout allows (chunks close
 * together in the brick are read in one range); each chunk is then authenticated,
 * decompressed and checked against its id, on the worker pool when there is one (so the
 * thread answering the kernel stays free). Errors name the brick; callers add the file.
 */
import { BufferPool } from '../brick/buffer-pool';
import type { BrickChunk } from '../brick/format';
import type { OpenPool } from '../brick/open-pool';
import { BrickBytes, coalesce, openSealed, pieceOf, readAndOpen, readBrick, readLimit, spanChunkLimit, StretchPlan } from '../brick/reads';
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
  /** Memory of stretches let go, for the next ones read. */
  private readonly spanBuffers = new BufferPool();
  private readonly maxRead: number;
  private readonly spanChunk: number;

  constructor(
    private readonly chunks: ChunkTable,
    backend: Backend,
    private readonly keys: StoreKeys,
    private readonly options: FetcherOptions,
  ) {
    this.maxRead = readLimit(backend);
    this.spanChunk = spanChunkLimit(backend);
    // Bounds the store reads in flight, so read-ahead cannot flood the backend.
    this.gate = new Semaphore(options.parallel);
    this.gated = { get: (key, range, into) => this.gate.run(() => backend.get(key, range, into)) };
    if ((options.spanBytes ?? 0) > 0) this.planSpans(options.spanBytes!);
  }

  /**
   * Bricks most of whose bytes the archive uses are read as one stretch on first use and
   * kept a while: reading a brick's many small files through the mount is then one request
   * to the store, not one per file (S3) or one read per file (a local disk).
   */
  private planSpans(limit: number): void {
    const c = this.chunks;
    const plan = new StretchPlan<number>();
    for (let r = 0; r < c.brick.length; r++) plan.add(c.brick[r]!, c.offset[r]!, c.storedLength[r]!);
    // Only the bounds are kept: the offsets noted would cost memory for every chunk of the archive.
    for (const [b, s] of plan.dense(limit / 2, this.spanChunk)) this.dense.set(b, { start: s.start, end: s.end });
  }

  /**
   * Runs `use` on the stretch of brick `b` when the archive uses it densely, synchronously as
   * soon as its bytes are in; null when the brick has no stretch or it was let go meanwhile.
   * A stretch's memory is recycled once it is let go, so `use` must copy what it keeps.
   */
  private async withSpan<T>(b: number, hex: string, use: (span: BrickBytes) => T): Promise<T | null> {
    const plan = this.dense.get(b);
    if (!plan) return null;
    let bytes = this.spans.get(b);
    if (bytes) {
      this.spans.delete(b);
    } else {
      const length = plan.end - plan.start;
      bytes = readBrick(this.gated, hex, { offset: plan.start, length }, this.spanBuffers.take(length));
      const read = bytes;
      read.catch(() => this.spans.get(b) === read && this.forget(b));
      this.spanHeld += length;
      for (const old of this.spans.keys()) {
        if (this.spanHeld <= this.options.spanBytes!) break;
        this.forget(old);
      }
    }
    this.spans.set(b, bytes);
    const got = await bytes;
    // Let go while this waited: its memory may be another stretch's by now.
    if (this.spans.get(b) !== bytes) return null;
    return use({ start: plan.start, bytes: got });
  }

  private forget(b: number): void {
    const plan = this.dense.get(b)!;
    const bytes = this.spans.get(b);
    if (!bytes) return;
    this.spans.delete(b);
    this.spanHeld -= plan.end - plan.start;
    // Waiting users check first (their reactions came earlier); a read in flight finishes first.
    bytes.then(
      (buf) => this.spanBuffers.give(buf, this.options.spanBytes! - this.spanHeld),
      () => undefined,
    );
  }

  brickHex(row: number): string {
    const b = this.chunks.brick[row]!;
    return this.chunks.bricks.toString('hex', b * 32, b * 32 + 32);
  }

  /** The plaintexts of chunk rows that all live in one brick, in the order given. */
  fetch(rows: readonly number[]): Promise<Buffer[]> {
    return Promise.all(this.fetchEach(rows));
  }

  /**
   * The plaintext of each chunk row (all in one brick), each settling as soon as its own
   * chunk is opened or fails: a reader waiting for the first chunk of a run does not wait
   * for the rest, and a bad chunk fails only the reads that need it.
   */
  fetchEach(rows: readonly number[]): Promise<Buffer>[] {
    const settle: { resolve: (b: Buffer) => void; reject: (e: unknown) => void }[] = [];
    const out = rows.map(() => new Promise<Buffer>((resolve, reject) => settle.push({ resolve, reject })));
    this.start(rows, settle).catch((e: unknown) => {
      for (const s of settle) s.reject(e); // settled ones ignore it
    });
    return out;
  }

  private async start(rows: readonly number[], settle: readonly { resolve: (b: Buffer) => void; reject: (e: unknown) => void }[]): Promise<void> {
    const first = rows[0];
    if (first === undefined) return;
    const hex = this.brickHex(first);
    const c = this.chunks;
    const cache = this.options.sealedCache;
    const sealed: (Buffer | null)[] = await Promise.all(rows.map((r) => (cache ? cache.get(hex, c.offset[r]!, c.storedLength[r]!) : Promise.resolve(null))));
    const missing = rows.flatMap((_, i) => (sealed[i] ? [] : [i]));
    const deliver = (which: readonly number[], opened: Promise<Buffer[]>): void => {
      opened.then(
        (plains) => which.forEach((i, k) => settle[i]!.resolve(plains[k]!)),
        (e: unknown) => which.forEach((i) => settle[i]!.reject(e)),
      );
    };
    const openPieces = (which: number[]): void => {
      if (which.length === 0) return;
      const pieces = which.map((i) => ({ id: this.idOf(rows[i]!), plainLength: c.plainLength[rows[i]!]!, sealed: sealed[i]! }));
      deliver(which, openSealed(this.keys, this.options.pool, pieces, `brick ${hex}`, this.options.plaintexts));
    };
    openPieces(rows.flatMap((_, i) => (sealed[i] ? [i] : [])));
    // Opening copies the pieces to a worker's buffer at once, so the stretch's memory is free after.
    const fromSpan = missing.length > 0 && (await this.withSpan(c.brick[first]!, hex, (span) => {
      for (const i of missing) sealed[i] = this.piece(hex, rows[i]!, span);
      openPieces(missing);
      return true;
    }));
    if (fromSpan) return;
    const places = missing.map((i) => ({ offset: c.offset[rows[i]!]!, length: c.storedLength[rows[i]!]! }));
    const keep = cache ? (ch: BrickChunk, sealed: Buffer): void => this.keep(hex, ch.offset, sealed) : undefined;
    for (const read of coalesce(places, MAX_GAP, this.maxRead)) {
      const which = read.chunks.map((k) => missing[k]!);
      const chunks = which.map((i) => ({ id: this.idOf(rows[i]!), plainLength: c.plainLength[rows[i]!]!, offset: c.offset[rows[i]!]!, storedLength: c.storedLength[rows[i]!]! }));
      deliver(which, readAndOpen(this.gated, this.keys, this.options.pool, hex, read, chunks, this.options.plaintexts, keep));
    }
  }

  private idOf(row: number): Buffer {
    return Buffer.from(this.chunks.ids.buffer, this.chunks.ids.byteOffset + row * 32, 32);
  }

  /** A chunk's sealed bytes out of a read of its brick, also kept in the on-disk cache. */
  private piece(hex: string, row: number, from: BrickBytes): Buffer {
    const piece = pieceOf(from, hex, this.chunks.offset[row]!, this.chunks.storedLength[row]!);
    this.keep(hex, this.chunks.offset[row]!, piece);
    return piece;
  }

  /** Copies sealed bytes into the on-disk cache, if there is one (the read's memory is reused). */
  private keep(hex: string, offset: number, sealed: Buffer): void {
    void this.options.sealedCache?.put(hex, offset, Buffer.from(sealed));
  }
}
