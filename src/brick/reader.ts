/**
 * Reads chunks out of bricks: one ranged read per run of chunks that sit close together in
 * one brick, then authentication, decompression and the id check of each chunk. Errors
 * name the brick; callers add the file.
 */
import { CorruptDataError, NotFoundError } from '../errors';
import type { Backend, ByteRange } from '../store/backend';
import type { StoreKeys } from '../crypto/keys';
import { openChunk } from './chunk-codec';
import { brickKey } from './format';
import type { OpenPool } from './open-pool';

export interface ChunkPlace {
  id: Buffer;
  plainLength: number;
  brick: Buffer;
  offset: number;
  storedLength: number;
}

/** Gaps up to this size between wanted chunks are read through rather than split into two requests. */
const MAX_GAP = 256 * 1024;

/**
 * Whole stretches of bricks, read once for many later chunk reads (see restore's BrickSpans):
 * a restore of a brick's files in S3 is then one GET, not one per file.
 */
export interface SpanSource {
  /** The bytes from `start` that cover every planned chunk of the brick, or null to read ranges. */
  span(hex: string, read: (range: ByteRange) => Promise<Buffer>): Promise<{ start: number; bytes: Buffer } | null>;
  /** These chunks of the brick have been read; the span may be dropped once all have. */
  release(hex: string, offsets: readonly number[]): void;
}

export class ChunkReader {
  constructor(
    private readonly backend: Backend,
    private readonly keys: StoreKeys,
    /** Workers to open chunks on; without, they are opened on this thread. */
    private readonly pool?: OpenPool,
    private readonly spans?: SpanSource,
  ) {}

  private async get(key: string, hex: string, range: ByteRange): Promise<Buffer> {
    let bytes: Buffer;
    try {
      bytes = await this.backend.get(key, range);
    } catch (e) {
      if (e instanceof NotFoundError) throw new NotFoundError(key, `brick ${hex} is missing from the store`);
      throw e;
    }
    if (bytes.length !== range.length) throw new CorruptDataError(`brick ${hex} is truncated`);
    return bytes;
  }

  private async open(hex: string, run: readonly ChunkPlace[], bytes: Buffer, start: number): Promise<Buffer[]> {
    if (this.pool) {
      const sealed = run.map((p) => ({ id: p.id, plainLength: p.plainLength, offset: p.offset - start, length: p.storedLength }));
      return this.pool.open(bytes, sealed, `brick ${hex}`);
    }
    return run.map((p) => openChunk(this.keys.data, this.keys.chunkId, p.id, p.plainLength, bytes.subarray(p.offset - start, p.offset - start + p.storedLength), `brick ${hex}`));
  }

  /** Reads chunks that all live in one brick, with as few ranged reads as their layout allows. */
  async readFromBrick(places: readonly ChunkPlace[]): Promise<Buffer[]> {
    const first = places[0];
    if (!first) return [];
    const hex = first.brick.toString('hex');
    const key = brickKey(hex);
    const order = places.map((p, i) => ({ p, i })).sort((a, b) => a.p.offset - b.p.offset);
    const out: Buffer[] = new Array<Buffer>(places.length);
    // A stretch that cannot be read whole (a truncated brick) is read by ranges instead, so
    // that the damage stays with the chunks it really hit.
    const span = this.spans ? await this.spans.span(hex, (range) => this.get(key, hex, range)).catch(() => null) : null;
    if (span && this.spans) {
      try {
        // A compact copy of just these chunks: the span stays shared, the copy can move to a worker.
        const pieces: Buffer[] = [];
        const compact: ChunkPlace[] = [];
        let o = 0;
        for (const { p } of order) {
          const piece = span.bytes.subarray(p.offset - span.start, p.offset - span.start + p.storedLength);
          if (piece.length !== p.storedLength) throw new CorruptDataError(`brick ${hex} is truncated`);
          pieces.push(piece);
          compact.push({ ...p, offset: o });
          o += p.storedLength;
        }
        const plains = await this.open(hex, compact, Buffer.concat(pieces, o), 0);
        order.forEach(({ i }, k) => (out[i] = plains[k]!));
        return out;
      } finally {
        this.spans.release(hex, places.map((p) => p.offset));
      }
    }
    let runStart = 0;
    while (runStart < order.length) {
      let runEnd = runStart + 1;
      let end = order[runStart]!.p.offset + order[runStart]!.p.storedLength;
      while (runEnd < order.length && order[runEnd]!.p.offset <= end + MAX_GAP) {
        end = Math.max(end, order[runEnd]!.p.offset + order[runEnd]!.p.storedLength);
        runEnd++;
      }
      const start = order[runStart]!.p.offset;
      const bytes = await this.get(key, hex, { offset: start, length: end - start });
      const run = order.slice(runStart, runEnd);
      const plains = await this.open(hex, run.map(({ p }) => p), bytes, start);
      run.forEach(({ i }, k) => (out[i] = plains[k]!));
      runStart = runEnd;
    }
    return out;
  }

  async read(place: ChunkPlace): Promise<Buffer> {
    const [b] = await this.readFromBrick([place]);
    return b!;
  }
}
