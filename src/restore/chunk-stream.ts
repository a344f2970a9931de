/**
 * Ordered read-ahead over a sequence of chunks: runs of consecutive chunks in one brick
 * become one coalesced read, several reads are in flight at once, and the bytes ahead of
 * the consumer are bounded. Every chunk is authenticated and checked against its id.
 */
import { ChunkPlace, ChunkReader } from '../brick/reader';
import { DtarError } from '../errors';

export interface ReadAheadOptions {
  /** Plaintext bytes fetched ahead of the consumer. */
  aheadBytes: number;
  /** Concurrent brick reads. */
  parallel: number;
}

export const DEFAULT_READ_AHEAD: ReadAheadOptions = { aheadBytes: 64 * 1024 * 1024, parallel: 8 };

/** Adds the file's name to an error about a brick, keeping its type. */
export function inFile(e: unknown, path: string): unknown {
  return e instanceof DtarError ? e.withContext(path) : e;
}

class Gate {
  private active = 0;
  private readonly waiters: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    while (this.active >= this.limit) await new Promise<void>((r) => this.waiters.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiters.shift()?.();
    }
  }
}

export interface Fetched {
  size: number;
  data: Promise<Buffer>;
}

/** Splits chunk places into fetches, lazily: each is started when the generator yields it. */
export function* fetchRuns(reader: ChunkReader, gate: Gate, places: readonly ChunkPlace[], path: string, maxRun = 16): Generator<Fetched> {
  let i = 0;
  while (i < places.length) {
    let j = i + 1;
    while (j < places.length && j - i < maxRun && places[j]!.brick.equals(places[i]!.brick)) j++;
    const run = places.slice(i, j);
    const all = gate.run(() => reader.readFromBrick(run)).catch((e: unknown) => {
      throw inFile(e, path);
    });
    all.catch(() => undefined); // awaited in order by the consumer; not unhandled meanwhile
    for (let k = 0; k < run.length; k++) {
      const data = all.then((bufs) => bufs[k]!);
      data.catch(() => undefined);
      yield { size: run[k]!.plainLength, data };
    }
    i = j;
  }
}

export function newGate(parallel: number): Gate {
  return new Gate(parallel);
}
export type { Gate };
