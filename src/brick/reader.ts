/**
 * Reads chunks out of bricks: one ranged read per run of chunks that sit close together in
 * one brick, then authentication, decompression and the id check of each chunk. Errors
 * name the brick; callers add the file.
 */
import type { Backend, ByteRange } from '../store/backend';
import type { StoreKeys } from '../crypto/keys';
import type { BrickChunk } from './format';
import type { OpenPool } from './open-pool';
import { BrickBytes, coalesce, openSealed, pieceOf, readAndOpen, readBrick, readLimit } from './reads';

/** A chunk to read: where it lies in which brick, and what it must open to. */
export interface ChunkPlace extends BrickChunk {
  brick: Buffer;
}

/** Gaps up to this size between wanted chunks are read through rather than split into two requests. */
const MAX_GAP = 256 * 1024;

/**
 * Whole stretches of bricks, read once for many later chunk reads (see restore's BrickSpans):
 * a restore of a brick's files in S3 is then one GET, not one per file, and of a local
 * brick's many small files one read, not one per file.
 */
export interface SpanSource {
  /**
   * Runs `use` on the bytes from `start` that cover every planned chunk of the brick,
   * synchronously once they are in (their memory is recycled after: `use` copies what it
   * keeps), or gives null to read ranges. `read` may read into the buffer it is given.
   */
  withSpan<T>(hex: string, read: (range: ByteRange, into: Buffer) => Promise<Buffer>, use: (span: BrickBytes) => T): Promise<T | null>;
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

  /** Reads chunks that all live in one brick, with as few ranged reads as their layout allows. */
  async readFromBrick(places: readonly ChunkPlace[]): Promise<Buffer[]> {
    const first = places[0];
    if (!first) return [];
    const hex = first.brick.toString('hex');
    const out: Buffer[] = new Array<Buffer>(places.length);
    const open = async (chunks: readonly number[], from: BrickBytes): Promise<void> => {
      const pieces = chunks.map((i) => {
        const p = places[i]!;
        return { id: p.id, plainLength: p.plainLength, sealed: pieceOf(from, hex, p.offset, p.storedLength) };
      });
      const plains = await openSealed(this.keys, this.pool, pieces, `brick ${hex}`);
      chunks.forEach((i, k) => (out[i] = plains[k]!));
    };
    const reads = coalesce(places.map((p) => ({ offset: p.offset, length: p.storedLength })), MAX_GAP, readLimit(this.backend));
    // A stretch that cannot be read whole (a truncated brick) is read by ranges instead, so
    // that the damage stays with the chunks it really hit.
    // Opening copies the pieces to a worker's buffer at once (in `use`); the result is wrapped
    // so that a damaged chunk fails the read instead of sending it to ranged reads.
    const fromSpan = this.spans
      ? await this.spans
          .withSpan(
            hex,
            (range, into) => readBrick(this.backend, hex, range, into),
            (span) => ({ opened: open(reads.flatMap((r) => r.chunks), span) }),
          )
          .catch(() => null)
      : null;
    if (fromSpan && this.spans) {
      try {
        await fromSpan.opened;
        return out;
      } finally {
        this.spans.release(hex, places.map((p) => p.offset));
      }
    }
    await Promise.all(
      reads.map(async (r) => {
        const plains = await readAndOpen(this.backend, this.keys, this.pool, hex, r, r.chunks.map((i) => places[i]!));
        r.chunks.forEach((i, k) => (out[i] = plains[k]!));
      }),
    );
    return out;
  }

  async read(place: ChunkPlace): Promise<Buffer> {
    const [b] = await this.readFromBrick([place]);
    return b!;
  }
}
