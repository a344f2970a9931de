/**
 * Bodies in index order, read ahead: what restore writes out and extract and cat copy into
 * files. Jobs (an entry, and the body it needs if any) come in order; the chunks of the jobs
 * ahead are asked for in batches, grouped by brick, so that neighbours in a brick come in one
 * read and many small files go to a worker as one job, while the consumer takes the current
 * body's bytes. The plaintext fetched ahead of the consumer is bounded, and topped up by
 * halves. A chunk repeated within the window (a file of zeros, a duplicated block) is fetched
 * once. Each body is checked against the SHA-256 recorded at ingest when its last chunk has
 * been read; a damaged body fails only its own reads, and the consumer may go on to the next job.
 *
 * Plaintext memory is recycled: a buffer from read() is the consumer's until it calls
 * release(), which gives back every buffer read before that call.
 */
import { createHash } from 'node:crypto';
import type { BrickChunk } from '../brick/format';
import type { StoreKeys } from '../crypto/keys';
import { CorruptDataError, DtarError } from '../errors';
import type { BodyRef } from '../index/record';
import type { Backend } from '../store/backend';
import type { Pullable } from '../tar/pull';
import { BufferPool } from './buffer-pool';
import { ChunkSource } from './chunks';
import { readShape, StretchPlan } from './plan';
import { StretchCache } from './stretches';

/** The SHA-256 check of a body as its bytes go by: they must be the size and hash recorded at ingest. */
export class BodyCheck {
  private readonly hash = createHash('sha256');
  private size = 0;

  constructor(private readonly body: BodyRef) {}

  update(data: Uint8Array): void {
    this.hash.update(data);
    this.size += data.length;
  }

  /** Once every byte went by: null when they were the body recorded, else what is wrong. */
  problem(): string | null {
    return this.size !== this.body.storedSize || !this.hash.digest().equals(this.body.sha256) ? 'contents do not match the checksum recorded at ingest' : null;
  }
}

/** Adds the file's name to an error about a brick, keeping its type. */
export function inFile(e: unknown, path: string): unknown {
  return e instanceof DtarError ? e.withContext(path) : e;
}

/**
 * Where a body stream reads the window's brick stretches whole (ReadShape.windowStretchChunk),
 * the plan a reader notes its bodies in beforehand (noteBody), to give to BodyStream.open;
 * elsewhere null, and noting is skipped.
 */
export function windowPlan(backend: Pick<Backend, 'cheapRanges'>): StretchPlan<string> | null {
  return readShape(backend).windowStretchChunk > 0 ? new StretchPlan<string>() : null;
}

/** Notes the chunks of a body in a plan of brick stretches, if there is one. */
export function noteBody(plan: StretchPlan<string> | null, body: BodyRef): void {
  if (plan) for (const c of body.chunks) plan.add(c.brick.toString('hex'), c.offset, c.storedLength);
}

export interface BodyJob<T> {
  value: T;
  /** The body to fetch, or null for a job without one (it still comes out in order). */
  body: BodyRef | null;
  /** Names the file in errors. */
  path: string;
}

export interface WindowOptions {
  /** Plaintext bytes fetched ahead of the consumer. */
  aheadBytes: number;
  /** Concurrent store reads. */
  parallel: number;
  /** Memory for brick stretches read whole (see StretchCache). */
  stretchBytes: number;
  /** Worker threads that open chunks (default: one per core; 0: on this thread). */
  threads?: number;
}

export const DEFAULT_WINDOW: WindowOptions = { aheadBytes: 32 * 1024 * 1024, parallel: 8, stretchBytes: 80 * 1024 * 1024 };

/** Bytes of body handed out without a turn of the event loop, at most (see read()). */
const TURN_BYTES = 1024 * 1024;

/** Jobs (with their ops) queued ahead of the consumer, at most: many empty files take no bytes. */
const MAX_OPS = 8192;

/** A chunk in the window: fetched once however often it stands there. */
interface Slot {
  key: string;
  size: number;
  /** Set when it is asked for. */
  data?: Promise<Buffer>;
  /** Set once it is in. */
  plain?: Buffer;
  /** Places in the window not yet read or skipped. */
  unread: number;
  /** Those, and reads not yet released: its buffer is recycled at 0. */
  refs: number;
}

type Op<T> = { kind: 'start'; job: BodyJob<T> } | { kind: 'chunk'; slot: Slot } | { kind: 'end' };

interface Wanted {
  hex: string;
  chunk: BrickChunk;
  slot: Slot;
}

export class BodyStream<T> {
  /** Ops queued, from `head` on (those taken are cleared: they must not keep their plaintexts alive). */
  private ops: (Op<T> | undefined)[] = [];
  private head = 0;
  /** Plaintext bytes of the chunks in the window. */
  private ahead = 0;
  /** Chunks in the window, by brick and offset. */
  private readonly inWindow = new Map<string, Slot>();
  /** Chunks admitted to the window and not yet asked for. */
  private wanted: Wanted[] = [];
  private feeding: { job: BodyJob<T>; next: number } | null = null;
  private sourceDone = false;
  /** The top-up under way: it runs beside the consumer, which waits for it only when the window is empty. */
  private filling: Promise<void> | null = null;
  /** What stopped the jobs, thrown once the jobs before it have been taken. */
  private failure: { error: unknown } | null = null;
  private current: { job: BodyJob<T>; check: BodyCheck | null; ended: boolean } | null = null;
  private lent: Slot[] = [];
  /** Bytes read() handed out since the last turn of the event loop. */
  private inARow = 0;

  constructor(
    private readonly source: ChunkSource,
    private readonly jobs: Pullable<BodyJob<T>>,
    private readonly aheadBytes: number,
    /** The pool the source writes plaintexts into: released buffers go back to it. */
    private readonly plaintexts?: BufferPool,
  ) {}

  /**
   * A stream over `jobs` from the store, with its own chunk source: workers, recycled
   * plaintexts, and the brick stretches of `plan` (the chunks the jobs will read, noted
   * beforehand; null for none). close() it when done.
   */
  static open<T>(store: { backend: Backend; keys: StoreKeys }, jobs: Pullable<BodyJob<T>>, plan: StretchPlan<string> | null, options: WindowOptions = DEFAULT_WINDOW): BodyStream<T> {
    const plaintexts = new BufferPool(2);
    const stretches = plan ? StretchCache.of(plan, options.stretchBytes, readShape(store.backend).windowStretchChunk, (hex) => hex, true) : null;
    const source = new ChunkSource(store.backend, store.keys, { parallel: options.parallel, threads: options.threads, plaintexts, stretches });
    return new BodyStream(source, jobs, options.aheadBytes, plaintexts);
  }

  /**
   * The next job's value, skipping whatever is left of the current one; null after the last.
   * A promise only when it has to wait (most jobs are queued already: no promise on the way).
   */
  next(): T | null | Promise<T | null> {
    const cur = this.current;
    while (cur && !cur.ended) {
      const op = this.take();
      if (op instanceof Promise) return op.then((o) => (this.skip(cur, o), this.next()));
      this.skip(cur, op);
    }
    const op = this.take();
    return op instanceof Promise ? op.then((o) => this.begin(o)) : this.begin(op);
  }

  /**
   * The current job's next piece of body, in order; null at its end, once its checksum
   * matched. After an error, call next(): it skips the rest of the damaged body. A promise
   * only when the piece is not there yet, or to give the event loop a turn (TURN_BYTES).
   */
  read(): Buffer | null | Promise<Buffer | null> {
    const cur = this.current;
    if (!cur || cur.ended) return null;
    const op = this.take();
    if (op instanceof Promise) {
      this.inARow = 0;
      return op.then((o) => this.piece(cur, o));
    }
    const piece = this.piece(cur, op);
    if (!(piece instanceof Buffer)) return piece;
    // The workers' replies are only taken between turns of the event loop: a consumer served
    // from the window for long without a turn (its writes do not wait, hashing is quick) left
    // the workers idle a third of the time, their jobs done and no new ones sent.
    this.inARow += piece.length;
    if (this.inARow < TURN_BYTES) return piece;
    this.inARow = 0;
    return new Promise((resolve) => setImmediate(resolve, piece));
  }

  /** The consumer is done with every buffer read() gave it so far: their memory is reused. */
  release(): void {
    for (const slot of this.lent) this.unref(slot);
    this.lent = [];
  }

  /** Closes the jobs and stops the workers; a stream not read to its end leaves its fetches to finish unread. */
  async close(): Promise<void> {
    try {
      await this.jobs.close();
    } finally {
      await this.source.close();
    }
  }

  private skip(cur: NonNullable<typeof this.current>, op: Op<T> | undefined): void {
    if (!op || op.kind === 'end') cur.ended = true;
    else if (op.kind === 'chunk') this.leave(op.slot, false);
  }

  private begin(op: Op<T> | undefined): T | null {
    if (!op) {
      this.current = null;
      return null;
    }
    if (op.kind !== 'start') throw new Error('body stream out of step');
    this.current = { job: op.job, check: op.job.body ? new BodyCheck(op.job.body) : null, ended: false };
    return op.job.value;
  }

  private piece(cur: NonNullable<typeof this.current>, op: Op<T> | undefined): Buffer | null | Promise<Buffer | null> {
    if (!op || op.kind === 'start') throw new Error('body stream out of step');
    if (op.kind === 'end') {
      cur.ended = true;
      const problem = cur.check?.problem();
      if (problem) throw new CorruptDataError(`${cur.job.path}: ${problem}`);
      return null;
    }
    const slot = op.slot;
    // Admitted by a top-up still under way: ask for it (and the rest admitted) now.
    if (!slot.data) this.dispatch();
    if (slot.plain) return this.got(cur, slot, slot.plain);
    return slot.data!.then(
      (data) => this.got(cur, slot, data),
      (e: unknown) => {
        this.leave(slot, false);
        throw inFile(e, cur.job.path);
      },
    );
  }

  private got(cur: NonNullable<typeof this.current>, slot: Slot, data: Buffer): Buffer {
    this.leave(slot, true);
    cur.check!.update(data);
    return data;
  }

  /** The next op, at once when one is queued (topping the window up beside the consumer when it is half empty). */
  private take(): Op<T> | undefined | Promise<Op<T> | undefined> {
    if (this.head === this.ops.length) return this.takeLater();
    // Topped up by halves, so that what is asked for together is many chunks, not one.
    if (!this.filling && !this.sourceDone && this.ahead <= this.aheadBytes / 2 && this.ops.length - this.head <= MAX_OPS / 2) void this.topUp();
    const op = this.ops[this.head]!;
    this.ops[this.head++] = undefined;
    if (this.head >= MAX_OPS) {
      this.ops = this.ops.slice(this.head);
      this.head = 0;
    }
    return op;
  }

  private async takeLater(): Promise<Op<T> | undefined> {
    while (this.head === this.ops.length) {
      if (this.failure) throw this.failure.error;
      if (this.sourceDone) return undefined;
      await (this.filling ?? this.topUp());
    }
    return this.take();
  }

  private topUp(): Promise<void> {
    const f = this.fill().then(
      () => void (this.filling = null),
      (error: unknown) => {
        this.filling = null;
        // Nothing after the failure is taken: the consumer gets the jobs before it, then the error.
        this.sourceDone = true;
        this.failure = { error };
      },
    );
    this.filling = f;
    return f;
  }

  /** Queues jobs and their chunks until the window is full or the jobs end, then asks for the chunks. */
  private async fill(): Promise<void> {
    try {
      while (!this.sourceDone && this.ahead < this.aheadBytes && this.ops.length - this.head < MAX_OPS) {
        if (this.feeding) {
          const { job } = this.feeding;
          const chunks = job.body!.chunks;
          this.admit(chunks[this.feeding.next++]!);
          if (this.feeding.next === chunks.length) {
            this.feeding = null;
            this.ops.push({ kind: 'end' });
          }
          continue;
        }
        const next = this.jobs.next();
        const job = next instanceof Promise ? await next : next;
        if (job === null) {
          this.sourceDone = true;
          break;
        }
        this.ops.push({ kind: 'start', job });
        if (job.body && job.body.chunks.length > 0) this.feeding = { job, next: 0 };
        else this.ops.push({ kind: 'end' });
      }
    } finally {
      this.dispatch();
    }
  }

  private admit(c: BrickChunk & { brick: Buffer }): void {
    const hex = c.brick.toString('hex');
    const key = `${hex}:${c.offset}`;
    let slot = this.inWindow.get(key);
    if (!slot) {
      slot = { key, size: c.plainLength, unread: 0, refs: 0 };
      this.inWindow.set(key, slot);
      this.ahead += c.plainLength;
      this.wanted.push({ hex, chunk: c, slot });
    }
    slot.unread++;
    slot.refs++;
    this.ops.push({ kind: 'chunk', slot });
  }

  /** Asks for the chunks admitted since last time, grouped by brick in the order first wanted. */
  private dispatch(): void {
    const byBrick = new Map<string, Wanted[]>();
    for (const w of this.wanted) {
      const group = byBrick.get(w.hex);
      if (group) group.push(w);
      else byBrick.set(w.hex, [w]);
    }
    this.wanted = [];
    for (const [hex, group] of byBrick) {
      this.source
        .fetchEach(
          hex,
          group.map((w) => w.chunk),
        )
        .forEach((data, k) => {
          const slot = group[k]!.slot;
          slot.data = data;
          // A failure is the consumer's when it gets there; not unhandled meanwhile.
          data.then((plain) => void (slot.plain = plain), () => undefined);
        });
    }
  }

  /** The consumer passed one place of `slot` in the window, reading it (lent until release()) or not. */
  private leave(slot: Slot, lent: boolean): void {
    if (--slot.unread === 0) {
      this.inWindow.delete(slot.key);
      this.ahead -= slot.size;
    }
    if (lent) this.lent.push(slot);
    else this.unref(slot);
  }

  private unref(slot: Slot): void {
    if (--slot.refs > 0 || !this.plaintexts) return;
    const pool = this.plaintexts;
    // Up to a window's worth is kept: what the consumer lets go of, the next top-up takes (a
    // bound of what the window has room for let go of buffers just before it refilled).
    if (slot.plain) pool.give(slot.plain, this.aheadBytes);
    else
      slot.data?.then(
        (buf) => pool.give(buf, this.aheadBytes),
        () => undefined,
      );
  }
}
