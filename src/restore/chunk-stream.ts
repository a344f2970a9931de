/**
 * Ordered read-ahead over a sequence of chunks: runs of consecutive chunks in one brick
 * become one coalesced read, several reads are in flight at once, and the bytes ahead of
 * the consumer are bounded. Every chunk is authenticated and checked against its id.
 */
import { ChunkPlace, ChunkReader } from '../brick/reader';
import { DtarError } from '../errors';
import type { Semaphore } from '../store/limit';

export interface ReadAheadOptions {
  /** Plaintext bytes fetched ahead of the consumer. */
  aheadBytes: number;
  /** Concurrent brick reads. */
  parallel: number;
}

export const DEFAULT_READ_AHEAD: ReadAheadOptions = { aheadBytes: 64 * 1024 * 1024, parallel: 8 };

/** Adds the file's name (escaped: see escapeName) to an error about a brick, keeping its type. */
export function inFile(e: unknown, path: string): unknown {
  return e instanceof DtarError ? e.withContext(path) : e;
}

export interface Fetched {
  size: number;
  data: Promise<Buffer>;
}

/**
 * The last chunks fetched, by id, so that a chunk repeated back to back (a file of zeros, a
 * duplicated block) is read and checked once, not once per occurrence.
 */
export class RecentChunks {
  private readonly map = new Map<string, Promise<Buffer>>();
  constructor(private readonly max = 8) {}
  get(id: Buffer): Promise<Buffer> | undefined {
    return this.map.get(id.toString('hex'));
  }
  set(id: Buffer, data: Promise<Buffer>): void {
    const key = id.toString('hex');
    this.map.delete(key);
    this.map.set(key, data);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
}

/** Splits chunk places into fetches, lazily: each is started when the generator yields it. */
export function* fetchRuns(
  reader: ChunkReader,
  gate: Semaphore,
  places: readonly ChunkPlace[],
  path: string,
  maxRun = 16,
  recent?: RecentChunks,
): Generator<Fetched> {
  let i = 0;
  while (i < places.length) {
    const seen = recent?.get(places[i]!.id);
    if (seen) {
      yield { size: places[i]!.plainLength, data: seen };
      i++;
      continue;
    }
    let j = i + 1;
    while (j < places.length && j - i < maxRun && places[j]!.brick.equals(places[i]!.brick) && !recent?.get(places[j]!.id)) j++;
    const run = places.slice(i, j);
    const all = gate.run(() => reader.readFromBrick(run)).catch((e: unknown) => {
      throw inFile(e, path);
    });
    all.catch(() => undefined); // awaited in order by the consumer; not unhandled meanwhile
    for (let k = 0; k < run.length; k++) {
      const data = all.then((bufs) => bufs[k]!);
      data.catch(() => undefined);
      recent?.set(run[k]!.id, data);
      yield { size: run[k]!.plainLength, data };
    }
    i = j;
  }
}
