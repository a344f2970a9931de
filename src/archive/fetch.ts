/**
 * Fetches chunks of one brick: the sealed bytes come from the on-disk cache when it has
 * them, else from the store in as few ranged reads as their layout allows (chunks close
 * together in the brick are read in one range); each chunk is then authenticated,
 * decompressed and checked against its id. Errors name the brick; callers add the file.
 */
import { openChunk } from '../brick/chunk-codec';
import { brickKey } from '../brick/format';
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
}

export class ChunkFetcher {
  private readonly gate: Gate;

  constructor(
    private readonly chunks: ChunkTable,
    private readonly backend: Backend,
    private readonly keys: StoreKeys,
    private readonly options: FetcherOptions,
  ) {
    // Bounds the store reads in flight, so read-ahead cannot flood the backend.
    this.gate = newGate(options.parallel);
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
    return rows.map((r, i) => openChunk(this.keys.data, this.keys.chunkId, c.ids.subarray(r * 32, r * 32 + 32), c.plainLength[r]!, sealed[i]!, `brick ${hex}`));
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
