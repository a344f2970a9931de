/**
 * Chunks out of bricks, for every reader (restore, extract, cat, the mount). A chunk's sealed
 * bytes come from the reader's on-disk cache of sealed chunks if it has one, else from a
 * brick stretch kept in memory (StretchCache), else from the store in as few ranged reads as
 * their layout allows (coalesce). Each chunk is then authenticated, decompressed and checked
 * against its id on the worker pool (or on this thread), and settles on its own: a reader
 * waiting for its first chunk does not wait for the rest, and a damaged chunk fails only
 * itself, not the other files' chunks read with it. Errors name the brick; callers add the file.
 * A brick missing from the store may have been repacked: its forwarding record
 * (src/brick/moved.ts) says where its chunks lie now, and they are read there, followed
 * through further repacks up to MAX_HOPS.
 */
import { openChunk } from '../brick/chunk-codec';
import type { BrickChunk } from '../brick/format';
import { MAX_HOPS, movedPlace, MovedChunk, Relocations } from '../brick/moved';
import { readBrick } from '../brick/reads';
import type { StoreKeys } from '../crypto/keys';
import { CorruptDataError, NotFoundError, UnsupportedFormatError } from '../errors';
import type { Backend } from '../store/backend';
import { Semaphore } from '../store/limit';
import { BufferPool } from './buffer-pool';
import { Opened, OpenPool, SealedPiece } from './open-pool';
import { coalesce, JOB_BYTES, MAX_GAP, readShape } from './plan';
import type { BrickBytes, StretchCache } from './stretches';

/** Sealed chunks kept on disk between runs (the mount's --keep-chunks): a miss is null, a failed put only costs a later download. */
export interface SealedCache {
  get(brickHex: string, offset: number, length: number): Promise<Buffer | null>;
  put(brickHex: string, offset: number, sealed: Buffer): Promise<void>;
}

export interface ChunkSourceOptions {
  /** Store reads in flight at once. */
  parallel: number;
  /** Worker threads that open chunks (default: one per core; 0: on this thread). */
  threads?: number;
  /** Workers shared with other sources (a whole-store mount's archives), instead of starting some; their owner closes them. */
  pool?: OpenPool;
  /** Where plaintexts of pooled size are written; the reader gives them back once it is done with them. */
  plaintexts?: BufferPool;
  stretches?: StretchCache | null;
  sealed?: SealedCache | null;
}

interface Settle {
  resolve(plain: Buffer): void;
  reject(e: unknown): void;
}

export class ChunkSource {
  private readonly gate: Semaphore;
  private readonly pool: OpenPool | undefined;
  private readonly maxRead: number;
  private readonly relocations: Relocations;

  constructor(
    private readonly backend: Backend,
    private readonly keys: StoreKeys,
    private readonly options: ChunkSourceOptions,
  ) {
    // Bounds the store reads in flight, so read-ahead cannot flood the backend.
    this.gate = new Semaphore(options.parallel);
    this.pool = options.pool ?? (options.threads === 0 ? undefined : new OpenPool(keys, options.threads));
    this.maxRead = readShape(backend).maxRead;
    this.relocations = Relocations.of(backend, keys.data);
  }

  /** The plaintexts of chunks that all live in brick `hex`, in the order given. */
  fetch(hex: string, chunks: readonly BrickChunk[]): Promise<Buffer[]> {
    return Promise.all(this.fetchEach(hex, chunks));
  }

  /** The plaintext of each chunk (all in brick `hex`), each settling as soon as it is opened or fails. */
  fetchEach(hex: string, chunks: readonly BrickChunk[]): Promise<Buffer>[] {
    const settle: Settle[] = [];
    const out = chunks.map(() => new Promise<Buffer>((resolve, reject) => settle.push({ resolve, reject })));
    this.startAll(hex, chunks, settle, 0);
    return out;
  }

  private startAll(hex: string, chunks: readonly BrickChunk[], settle: readonly Settle[], hops: number): void {
    this.start(hex, chunks, settle, hops).catch((e: unknown) => {
      for (const s of settle) s.reject(e); // settled ones ignore it
    });
  }

  /** Stops the workers it started (see OpenPool.close); shared ones are their owner's to close. */
  close(): Promise<void> {
    if (this.options.pool || !this.pool) return Promise.resolve();
    return this.pool.close();
  }

  private async start(hex: string, chunks: readonly BrickChunk[], settle: readonly Settle[], hops: number): Promise<void> {
    let missing = chunks.map((_, i) => i);
    // A brick already found repacked: straight to where its chunks lie now.
    const known = this.relocations.known(hex);
    const moved = known && (await known);
    if (moved) return this.moveOn(hex, moved, missing, chunks, settle, hops);
    const cache = this.options.sealed;
    if (cache) {
      const found = await Promise.all(chunks.map((c) => cache.get(hex, c.offset, c.storedLength)));
      const hits = missing.filter((i) => found[i]);
      void this.open(
        hex,
        hits,
        hits.map((i) => found[i]!),
        chunks,
        settle,
      );
      missing = missing.filter((i) => !found[i]);
      if (missing.length === 0) return;
    }
    const stretches = this.options.stretches;
    if (stretches) {
      // Chunks are copied out of the stretch at once (in `use`): its memory is reused after.
      const outside = await stretches
        .with(
          hex,
          (range, into) => this.gate.run(() => readBrick(this.backend, hex, range, into)),
          (stretch) => {
            const inside: number[] = [];
            const outside: number[] = [];
            for (const i of missing) (chunks[i]!.offset >= stretch.start && chunks[i]!.offset + chunks[i]!.storedLength <= stretch.end ? inside : outside).push(i);
            void this.open(
              hex,
              inside,
              inside.map((i) => this.kept(hex, chunks[i]!, cut(stretch, hex, chunks[i]!))),
              chunks,
              settle,
            );
            stretches.release(
              hex,
              inside.map((i) => chunks[i]!.offset),
            );
            return outside;
          },
        )
        // A stretch that cannot be read: its chunks are read by ranges, and fail one by one.
        .catch(() => null);
      if (outside) missing = outside;
      if (missing.length === 0) return;
    }
    const places = missing.map((i) => ({ offset: chunks[i]!.offset, length: chunks[i]!.storedLength }));
    for (const read of coalesce(places, MAX_GAP, this.maxRead)) {
      const which = read.chunks.map((k) => missing[k]!);
      this.readAndOpen(hex, read, which, chunks, settle)
        .catch(async (e: unknown) => {
          // Outside the gate: the new places' reads need it.
          const moved = e instanceof NotFoundError ? await this.relocations.record(hex) : null;
          if (!moved) throw e;
          this.moveOn(hex, moved, which, chunks, settle, hops);
        })
        .catch((e: unknown) => {
          for (const i of which) settle[i]!.reject(e);
        });
    }
  }

  /** Reads chunks `which` of repacked brick `hex` where its forwarding record says they lie now. */
  private moveOn(hex: string, moved: ReadonlyMap<number, MovedChunk>, which: readonly number[], chunks: readonly BrickChunk[], settle: readonly Settle[], hops: number): void {
    if (hops >= MAX_HOPS) throw new CorruptDataError(`brick ${hex}: its chunks were moved more than ${MAX_HOPS} times over (a loop of forwarding records)`);
    const byBrick = new Map<string, { chunks: BrickChunk[]; settle: Settle[] }>();
    for (const i of which) {
      let m: MovedChunk;
      try {
        m = movedPlace(hex, moved, chunks[i]!);
      } catch (e) {
        settle[i]!.reject(e);
        continue;
      }
      const to = m.newBrick.toString('hex');
      let group = byBrick.get(to);
      if (!group) byBrick.set(to, (group = { chunks: [], settle: [] }));
      group.chunks.push({ ...chunks[i]!, offset: m.newOffset });
      group.settle.push(settle[i]!);
    }
    for (const [to, group] of byBrick) this.startAll(to, group.chunks, group.settle, hops + 1);
  }

  /**
   * Reads [start, end) of brick `hex` and opens the chunks `which` lying in it. With workers,
   * the read goes into memory they gave back and moves to one of them as it is: no copy, and
   * no fresh pages. A read holds its place at the gate until its chunks are opened, so the
   * sealed bytes read and not yet opened are bounded too: the store is not read further
   * ahead than the workers open, and their memory is not let go and taken afresh.
   */
  private readAndOpen(hex: string, range: { start: number; end: number }, which: readonly number[], chunks: readonly BrickChunk[], settle: readonly Settle[]): Promise<void> {
    return this.gate.run(async () => {
      const into = this.pool?.buffer(range.end - range.start);
      let bytes: Buffer;
      try {
        bytes = await readBrick(this.backend, hex, { offset: range.start, length: range.end - range.start }, into);
      } catch (e) {
        if (into) this.pool!.unused(into);
        throw e;
      }
      const read: BrickBytes = { start: range.start, end: range.end, bytes };
      const pieces = which.map((i) => this.kept(hex, chunks[i]!, cut(read, hex, chunks[i]!)));
      if (!this.pool || !into || bytes.buffer !== into.buffer || !pieces.every((p) => p instanceof Buffer)) {
        // The pieces are copied to the workers (or opened here) at once: `into` is free after.
        const opened = this.open(hex, which, pieces, chunks, settle);
        if (into) this.pool!.unused(into);
        return opened;
      }
      const places = which.map((i) => ({ id: chunks[i]!.id, plainLength: chunks[i]!.plainLength, offset: chunks[i]!.offset - range.start, length: chunks[i]!.storedLength }));
      return this.deliver(which, this.pool.openBytes(bytes, places, `brick ${hex}`, this.options.plaintexts), settle);
    });
  }

  /**
   * Opens chunks `which` from their sealed bytes (or the error cutting them met), in jobs of
   * JOB_BYTES; settles once all are opened or failed.
   */
  private open(hex: string, which: readonly number[], sealedBytes: readonly (Buffer | CorruptDataError)[], chunks: readonly BrickChunk[], settle: readonly Settle[]): Promise<void> {
    const jobs: Promise<void>[] = [];
    let job: number[] = [];
    let pieces: SealedPiece[] = [];
    let bytes = 0;
    const send = (): void => {
      if (job.length > 0) jobs.push(this.deliver(job, this.openPieces(pieces, `brick ${hex}`), settle));
      job = [];
      pieces = [];
      bytes = 0;
    };
    for (let k = 0; k < which.length; k++) {
      const i = which[k]!;
      const sealed = sealedBytes[k]!;
      if (!(sealed instanceof Buffer)) {
        settle[i]!.reject(sealed);
        continue;
      }
      job.push(i);
      pieces.push({ id: chunks[i]!.id, plainLength: chunks[i]!.plainLength, sealed });
      bytes += sealed.length;
      if (bytes >= JOB_BYTES) send();
    }
    send();
    return Promise.all(jobs).then(() => undefined);
  }

  /** Opens sealed pieces on the workers, or on this thread without them. */
  private openPieces(pieces: readonly SealedPiece[], where: string): Promise<Opened[]> {
    if (this.pool) return this.pool.open(pieces, where, this.options.plaintexts);
    const plaintexts = this.options.plaintexts;
    return Promise.resolve(
      pieces.map((p) => {
        try {
          const into = plaintexts && BufferPool.pooled(p.plainLength) ? plaintexts.take(p.plainLength) : undefined;
          return openChunk(this.keys, p.id, p.plainLength, p.sealed, where, 'writer-sealed', into);
        } catch (e) {
          if (e instanceof CorruptDataError || e instanceof UnsupportedFormatError) return e;
          throw e;
        }
      }),
    );
  }

  /** Settles each chunk of a job as it came back; settles itself once they all have. */
  private deliver(which: readonly number[], opened: Promise<Opened[]>, settle: readonly Settle[]): Promise<void> {
    return opened.then(
      (plains) =>
        which.forEach((i, k) => {
          const p = plains[k]!;
          if (p instanceof Buffer) settle[i]!.resolve(p);
          else settle[i]!.reject(p);
        }),
      (e: unknown) => which.forEach((i) => settle[i]!.reject(e)),
    );
  }

  /** Sealed bytes read from the store, also kept in the on-disk cache if there is one (as a copy: the read's memory is reused). */
  private kept(hex: string, chunk: BrickChunk, sealed: Buffer | CorruptDataError): Buffer | CorruptDataError {
    if (sealed instanceof Buffer) void this.options.sealed?.put(hex, chunk.offset, Buffer.from(sealed));
    return sealed;
  }
}

/** The sealed bytes of `chunk` out of bytes read from its brick, or why they are not all there. */
function cut(read: BrickBytes, hex: string, chunk: BrickChunk): Buffer | CorruptDataError {
  const at = chunk.offset - read.start;
  const piece = read.bytes.subarray(at, at + chunk.storedLength);
  return piece.length === chunk.storedLength ? piece : new CorruptDataError(`brick ${hex} is truncated`);
}
