/**
 * A pool of workers that open sealed chunks (see open-worker.ts). Requests go to the worker
 * with the fewest in flight; each chunk comes back as its plaintext or as the
 * CorruptDataError (or, for a newer format, UnsupportedFormatError) it failed with. The
 * sealed bytes go to a worker in one compact buffer, which comes back with the reply and is
 * reused; plaintexts are written into buffers of the caller's pool when it gives one.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { StoreKeys } from '../crypto/keys';
import { CorruptDataError, UnsupportedFormatError } from '../errors';
import { BufferPool } from './buffer-pool';
import type { OpenReply, OpenRequest, OpenWorkerData } from './open-worker';

/** A chunk as stored: its id, its plaintext length and its sealed bytes. */
export interface SealedPiece {
  id: Buffer;
  plainLength: number;
  sealed: Buffer;
}

/** A chunk lying at [offset, offset + length) of a buffer of sealed bytes. */
export interface SealedChunk {
  id: Buffer;
  plainLength: number;
  offset: number;
  length: number;
}

/** A chunk opened, or the error it failed with. */
export type Opened = Buffer | CorruptDataError | UnsupportedFormatError;

/** Sealed bytes on their way to the workers are bounded by the readers' own limits; this is what is kept for reuse. */
const IDLE_INPUT_BYTES = 16 * 1024 * 1024;

interface Lane {
  worker: Worker;
  busy: number;
}

export class OpenPool {
  private readonly lanes: Lane[] = [];
  private readonly jobs = new Map<number, { resolve: (b: Opened[]) => void; reject: (e: Error) => void }>();
  private seq = 0;
  private closed = false;
  private readonly inputs = new BufferPool(2);

  constructor(
    private readonly keys: StoreKeys,
    private readonly threads = availableParallelism(),
  ) {}

  /** Workers start with the first job: starting them cost a mount a tenth of a second before it could answer. */
  private start(): void {
    const workerData: OpenWorkerData = { dataKey: this.keys.data, idKey: this.keys.chunkId, storePrivate: this.keys.x25519 };
    for (let i = 0; i < Math.max(1, this.threads); i++) {
      const worker = new Worker(join(__dirname, 'open-worker.js'), { workerData });
      const lane: Lane = { worker, busy: 0 };
      worker.on('message', (r: OpenReply) => {
        lane.busy--;
        this.settle(r);
      });
      const failAll = (e: Error): void => {
        for (const j of this.jobs.values()) j.reject(e);
        this.jobs.clear();
      };
      worker.on('error', failAll);
      // A worker that is gone answers no more: what it held must fail, not wait forever, and
      // it gets no more jobs (the next job starts new workers if none is left).
      worker.on('exit', () => {
        this.lanes.splice(this.lanes.indexOf(lane), 1);
        failAll(new Error('a chunk-opening worker stopped'));
      });
      // Idle workers must not keep a finished command alive.
      worker.unref();
      this.lanes.push(lane);
    }
  }

  /**
   * Opens chunks (of one brick, named by `where` in errors); they come back in the order
   * given. With `outputs`, plaintexts of pooled size are written into buffers taken from it.
   * Rejects only if a worker stops.
   */
  open(pieces: readonly SealedPiece[], where: string, outputs?: BufferPool): Promise<Opened[]> {
    let total = 0;
    for (const p of pieces) total += p.sealed.length;
    const bytes = this.buffer(total);
    const chunks: SealedChunk[] = [];
    let at = 0;
    for (const p of pieces) {
      chunks.push({ id: p.id, plainLength: p.plainLength, offset: at, length: p.sealed.length });
      at += p.sealed.copy(bytes, at);
    }
    return this.openBytes(bytes, chunks, where, outputs);
  }

  /** Room for sealed bytes to give to openBytes(): memory the workers gave back (small ones are copied to them, not moved). */
  buffer(length: number): Buffer {
    return BufferPool.pooled(length) ? this.inputs.take(length) : Buffer.allocUnsafe(length);
  }

  /** Takes back a buffer from buffer() that was not given to openBytes(). */
  unused(buf: Buffer): void {
    this.inputs.give(buf, IDLE_INPUT_BYTES);
  }

  /**
   * open() of chunks already lying in `bytes`, which must be the caller's alone (from buffer()
   * or otherwise): its memory moves to the worker (if of pooled size; else it is copied), so
   * the caller must not touch it after.
   */
  openBytes(bytes: Buffer, chunks: readonly SealedChunk[], where: string, outputs?: BufferPool): Promise<Opened[]> {
    // Reads still in flight when their reader stopped (a failed restore) start no new workers.
    if (this.closed) return Promise.reject(new Error('the chunk-opening workers were stopped'));
    if (this.lanes.length === 0) this.start();
    const seq = this.seq++;
    const lane = this.lanes.reduce((a, b) => (b.busy < a.busy ? b : a));
    lane.busy++;
    const out = chunks.map((p) => (outputs && BufferPool.pooled(p.plainLength) ? outputs.take(p.plainLength) : null));
    const req: OpenRequest = {
      seq,
      bytes,
      offsets: chunks.map((p) => p.offset),
      lengths: chunks.map((p) => p.length),
      ids: Buffer.concat(chunks.map((p) => p.id)),
      plainLengths: chunks.map((p) => p.plainLength),
      outputs: out,
      recycle: BufferPool.pooled(bytes.length),
      where,
    };
    // Moving a buffer costs more than copying a few kilobytes (small files' chunks).
    const moved = req.recycle ? [bytes.buffer as ArrayBuffer] : [];
    for (const o of out) if (o) moved.push(o.buffer as ArrayBuffer);
    const done = new Promise<Opened[]>((resolve, reject) => this.jobs.set(seq, { resolve, reject }));
    // A pending reply keeps the process alive; an idle pool does not.
    if (this.jobs.size === 1) for (const l of this.lanes) l.worker.ref();
    lane.worker.postMessage(req, moved);
    return done;
  }

  private settle(r: OpenReply): void {
    const job = this.jobs.get(r.seq);
    if (!job) return;
    this.jobs.delete(r.seq);
    if (this.jobs.size === 0) for (const l of this.lanes) l.worker.unref();
    if (r.bytes) this.inputs.give(r.bytes, IDLE_INPUT_BYTES);
    job.resolve(
      r.plains.map((p) =>
        typeof p === 'string' ? new CorruptDataError(p) : p instanceof Uint8Array ? Buffer.from(p.buffer, p.byteOffset, p.byteLength) : new UnsupportedFormatError(p.what, p.version),
      ),
    );
  }

  /**
   * Stops the workers without waiting for them to exit: terminate() of a worker busy with a
   * job (read-ahead still in flight when a restore fails) may never settle once the event
   * loop has nothing else to do, and a command awaiting it ended with exit code 0 and no
   * message. Unref'd, the workers cannot keep the process alive meanwhile.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const l of this.lanes) {
      l.worker.unref();
      void l.worker.terminate().catch(() => undefined);
    }
  }
}
