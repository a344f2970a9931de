/**
 * Reads chunks out of bricks: one ranged read per run of chunks that sit close together in
 * one brick, then authentication, decompression and the id check of each chunk. Errors
 * name the brick; callers add the file.
 */
import { CorruptDataError, NotFoundError } from '../errors';
import type { Backend } from '../store/backend';
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

export class ChunkReader {
  constructor(
    private readonly backend: Backend,
    private readonly keys: StoreKeys,
    /** Workers to open chunks on; without, they are opened on this thread. */
    private readonly pool?: OpenPool,
  ) {}

  /** Reads chunks that all live in one brick, with as few ranged reads as their layout allows. */
  async readFromBrick(places: readonly ChunkPlace[]): Promise<Buffer[]> {
    const first = places[0];
    if (!first) return [];
    const hex = first.brick.toString('hex');
    const key = brickKey(hex);
    const order = places.map((p, i) => ({ p, i })).sort((a, b) => a.p.offset - b.p.offset);
    const out: Buffer[] = new Array<Buffer>(places.length);
    let runStart = 0;
    while (runStart < order.length) {
      let runEnd = runStart + 1;
      let end = order[runStart]!.p.offset + order[runStart]!.p.storedLength;
      while (runEnd < order.length && order[runEnd]!.p.offset <= end + MAX_GAP) {
        end = Math.max(end, order[runEnd]!.p.offset + order[runEnd]!.p.storedLength);
        runEnd++;
      }
      const start = order[runStart]!.p.offset;
      let bytes: Buffer;
      try {
        bytes = await this.backend.get(key, { offset: start, length: end - start });
      } catch (e) {
        if (e instanceof NotFoundError) throw new NotFoundError(key, `brick ${hex} is missing from the store`);
        throw e;
      }
      if (bytes.length !== end - start) throw new CorruptDataError(`brick ${hex} is truncated`);
      const run = order.slice(runStart, runEnd);
      if (this.pool) {
        const sealed = run.map(({ p }) => ({ id: p.id, plainLength: p.plainLength, offset: p.offset - start, length: p.storedLength }));
        const plains = await this.pool.open(bytes, sealed, `brick ${hex}`);
        run.forEach(({ i }, k) => (out[i] = plains[k]!));
      } else {
        for (const { p, i } of run) {
          const sealed = bytes.subarray(p.offset - start, p.offset - start + p.storedLength);
          out[i] = openChunk(this.keys.data, this.keys.chunkId, p.id, p.plainLength, sealed, `brick ${hex}`);
        }
      }
      runStart = runEnd;
    }
    return out;
  }

  async read(place: ChunkPlace): Promise<Buffer> {
    const [b] = await this.readFromBrick([place]);
    return b!;
  }
}
