/**
 * Fetches chunks of one brick: the sealed bytes come from the on-disk cache when it has
 * them, else from the store in as few ranged reads as their layout allows (chunks close
 * together in the brick are read in one range); each chunk is then authenticated,
 * decompressed and checked against its id, on the worker pool when there is one (so the
 * thread answering the kernel stays free). Errors name the brick; callers add the file.
 */
import { openChunk } from '../brick/chunk-codec';
import { brickKey } from '../brick/format';
import type { OpenPool, SealedChunk } from '../brick/open-pool';
import type { StoreKeys } from '../crypto/keys';
import { CorruptDataError, NotFoundError } from '../errors';
import type { Backend } from '../store/backend';
import { Gate, newGate } from '../restore/chunk-stream';
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
}

/** A brick stretch is read whole when the archive uses at least this share of it. */
const MIN_DENSITY = 0.5;

export class ChunkFetcher {
  private readonly gate: Gate;
  /** Per brick row, the stretch covering every chunk the archive uses, when dense enough. */
  private readonly dense = new Map<number, { start: number; end: number }>();
  /** Stretches read, most recently used last. */
  private readonly spans = new Map<number, Promise<Buffer>>();
  private spanHeld = 0;

  constructor(
    private readonly chunks: ChunkTable,
    private readonly backend: Backend,
    private readonly keys: StoreKeys,
    private readonly options: FetcherOptions,
  ) {
    // Bounds the store reads in flight, so read-ahead cannot flood the backend.
    this.gate = newGate(options.parallel);
    if ((options.spanBytes ?? 0) > 0) this.planSpans(options.spanBytes!);
  }

  /**
   * Bricks most of whose bytes the archive uses are read as one stretch on first use and
   * kept a while: reading a brick's many small files through the mount is then one request
   * to the store, not one per file (S3).
   */
  private planSpans(limit: number): void {
    const c = this.chunks;
    const stats = new Map<number, { start: number; end: number; used: number; seen: Set<number> }>();
    for (let r = 0; r < c.brick.length; r++) {
      const b = c.brick[r]!;
      let st = stats.get(b);
      if (!st) stats.set(b, (st = { start: c.offset[r]!, end: c.offset[r]!, used: 0, seen: new Set() }));
      if (st.seen.has(c.offset[r]!)) continue;
      st.seen.add(c.offset[r]!);
      st.used += c.storedLength[r]!;
      st.start = Math.min(st.start, c.offset[r]!);
      st.end = Math.max(st.end, c.offset[r]! + c.storedLength[r]!);
    }
    for (const [b, st] of stats) {
      const span = st.end - st.start;
      if (st.used >= MIN_DENSITY * span && span <= limit / 2) this.dense.set(b, { start: st.start, end: st.end });
    }
  }

  private async span(b: number, hex: string): Promise<{ start: number; bytes: Buffer } | null> {
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
    const sealed: (Buffer | null)[] = await Promise.all(
      rows.map((r) => (this.options.sealedCache ? this.options.sealedCache.get(hex, c.offset[r]!, c.storedLength[r]!) : Promise.resolve(null))),
    );
    const missing = rows.map((r, i) => ({ r, i })).filter((x) => !sealed[x.i]);
    const span = missing.length > 0 ? await this.span(c.brick[first]!, hex) : null;
    if (span) {
      for (const { r, i } of missing) {
        const piece = span.bytes.subarray(c.offset[r]! - span.start, c.offset[r]! - span.start + c.storedLength[r]!);
        sealed[i] = piece;
        void this.options.sealedCache?.put(hex, c.offset[r]!, Buffer.from(piece));
      }
      missing.length = 0;
    }
    missing.sort((a, b) => c.offset[a.r]! - c.offset[b.r]!);
    const reads: Promise<void>[] = [];
    let s = 0;
    while (s < missing.length) {
      let e = s + 1;
      let end = c.offset[missing[s]!.r]! + c.storedLength[missing[s]!.r]!;
      while (e < missing.length && c.offset[missing[e]!.r]! <= end + MAX_GAP) {
        end = Math.max(end, c.offset[missing[e]!.r]! + c.storedLength[missing[e]!.r]!);
        e++;
      }
      const run = missing.slice(s, e);
      const start = c.offset[run[0]!.r]!;
      reads.push(
        this.readRange(hex, start, end - start).then((bytes) => {
          for (const { r, i } of run) {
            const piece = bytes.subarray(c.offset[r]! - start, c.offset[r]! - start + c.storedLength[r]!);
            sealed[i] = piece;
            void this.options.sealedCache?.put(hex, c.offset[r]!, Buffer.from(piece));
          }
        }),
      );
      s = e;
    }
    await Promise.all(reads);
    return this.open(rows, sealed as Buffer[], `brick ${hex}`);
  }

  private open(rows: readonly number[], sealed: readonly Buffer[], where: string): Promise<Buffer[]> | Buffer[] {
    const c = this.chunks;
    const id = (r: number): Buffer => Buffer.from(c.ids.buffer, c.ids.byteOffset + r * 32, 32);
    if (!this.options.pool) return rows.map((r, i) => openChunk(this.keys.data, this.keys.chunkId, id(r), c.plainLength[r]!, sealed[i]!, where));
    // One compact copy of the sealed bytes moves to a worker; the spans they came from stay here.
    const places: SealedChunk[] = [];
    let at = 0;
    rows.forEach((r, i) => {
      places.push({ id: id(r), plainLength: c.plainLength[r]!, offset: at, length: sealed[i]!.length });
      at += sealed[i]!.length;
    });
    return this.options.pool.open(Buffer.concat(sealed, at), places, where);
  }

  private async readRange(hex: string, offset: number, length: number): Promise<Buffer> {
    const key = brickKey(hex);
    let bytes: Buffer;
    try {
      bytes = await this.gate.run(() => this.backend.get(key, { offset, length }));
    } catch (e) {
      if (e instanceof NotFoundError) throw new NotFoundError(key, `brick ${hex} is missing from the store`);
      throw e;
    }
    if (bytes.length !== length) throw new CorruptDataError(`brick ${hex} is truncated`);
    return bytes;
  }
}
