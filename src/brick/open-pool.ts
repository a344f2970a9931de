/**
 * A pool of workers that open sealed chunks (see open-worker.ts). Requests go to the worker
 * with the fewest in flight; a failure comes back as the CorruptDataError it would have been.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { StoreKeys } from '../crypto/keys';
import { CorruptDataError } from '../errors';
import type { OpenReply, OpenRequest, OpenWorkerData } from './open-worker';

export interface SealedChunk {
  id: Buffer;
  plainLength: number;
  /** [offset, offset + length) of `bytes`. */
  offset: number;
  length: number;
}

interface Lane {
  worker: Worker;
  busy: number;
}

export class OpenPool {
  private readonly lanes: Lane[] = [];
  private readonly jobs = new Map<number, { resolve: (b: Buffer[]) => void; reject: (e: Error) => void }>();
  private seq = 0;

  constructor(
    private readonly keys: StoreKeys,
    private readonly threads = availableParallelism(),
  ) {}

  /** Workers start with the first job: starting them cost a mount a tenth of a second before it could answer. */
  private start(): void {
    const workerData: OpenWorkerData = { dataKey: this.keys.data, idKey: this.keys.chunkId };
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
      // A worker that is gone answers no more: what it held must fail, not wait forever.
      worker.on('exit', () => failAll(new Error('a chunk-opening worker stopped')));
      // Idle workers must not keep a finished command alive.
      worker.unref();
      this.lanes.push(lane);
    }
  }

  open(bytes: Buffer, chunks: readonly SealedChunk[], where: string): Promise<Buffer[]> {
    if (this.lanes.length === 0) this.start();
    const seq = this.seq++;
    const lane = this.lanes.reduce((a, b) => (b.busy < a.busy ? b : a));
    lane.busy++;
    const req: OpenRequest = {
      seq,
      bytes,
      offsets: chunks.map((c) => c.offset),
      lengths: chunks.map((c) => c.length),
      ids: Buffer.concat(chunks.map((c) => c.id)),
      plainLengths: chunks.map((c) => c.plainLength),
      where,
    };
    const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    const done = new Promise<Buffer[]>((resolve, reject) => this.jobs.set(seq, { resolve, reject }));
    // A pending reply keeps the process alive; an idle pool does not.
    if (this.jobs.size === 1) for (const l of this.lanes) l.worker.ref();
    lane.worker.postMessage(req, own ? [bytes.buffer as ArrayBuffer] : []);
    return done;
  }

  private settle(r: OpenReply): void {
    const job = this.jobs.get(r.seq);
    if (!job) return;
    this.jobs.delete(r.seq);
    if (this.jobs.size === 0) for (const l of this.lanes) l.worker.unref();
    if (!r.ok) return job.reject(new CorruptDataError(r.message));
    const out = r.plains.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength));
    job.resolve(out);
  }

  /**
   * Stops the workers without waiting for them to exit: terminate() of a worker busy with a
   * job (read-ahead still in flight when a restore fails) may never settle once the event
   * loop has nothing else to do, and a command awaiting it ended with exit code 0 and no
   * message. Unref'd, the workers cannot keep the process alive meanwhile.
   */
  async close(): Promise<void> {
    for (const l of this.lanes) {
      l.worker.unref();
      void l.worker.terminate().catch(() => undefined);
    }
  }
}
