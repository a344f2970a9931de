/**
 * A fixed pool of seal workers with a bounded number of chunks in flight: submit() waits
 * while the pool is full, which is what bounds ingest's memory whatever the input size.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { SealRequest, SealResponse, SealWorkerData } from './seal-worker';

interface Job {
  resolve: (sealed: Buffer) => void;
  reject: (e: Error) => void;
}

export class SealPool {
  private readonly workers: Worker[] = [];
  private readonly jobs = new Map<number, Job>();
  private readonly waiting: (() => void)[] = [];
  private seq = 0;
  private next = 0;
  private failure: Error | null = null;

  constructor(dataKey: Buffer, level: number, threads = availableParallelism(), private readonly maxInFlight = threads * 3) {
    const workerData: SealWorkerData = { dataKey, level };
    for (let i = 0; i < threads; i++) {
      const w = new Worker(join(__dirname, 'seal-worker.js'), { workerData });
      w.on('message', (res: SealResponse) => this.settle(res));
      w.on('error', (e) => this.fail(e));
      this.workers.push(w);
    }
  }

  /** Resolves when the chunk was accepted into the pool; `sealed` resolves with its sealed form. */
  async submit(id: Buffer, plain: Buffer): Promise<{ sealed: Promise<Buffer> }> {
    while (this.jobs.size >= this.maxInFlight && !this.failure) await new Promise<void>((r) => this.waiting.push(r));
    if (this.failure) throw this.failure;
    const seq = this.seq++;
    const sealed = new Promise<Buffer>((resolve, reject) => this.jobs.set(seq, { resolve, reject }));
    const req: SealRequest = { seq, id, plain };
    const worker = this.workers[this.next++ % this.workers.length]!;
    if (plain.byteOffset === 0 && plain.byteLength === plain.buffer.byteLength) worker.postMessage(req, [plain.buffer as ArrayBuffer]);
    else worker.postMessage(req);
    return { sealed };
  }

  private settle(res: SealResponse): void {
    const job = this.jobs.get(res.seq);
    if (!job) return;
    this.jobs.delete(res.seq);
    job.resolve(Buffer.from(res.sealed.buffer, res.sealed.byteOffset, res.sealed.byteLength));
    this.waiting.shift()?.();
  }

  private fail(e: Error): void {
    this.failure = e;
    for (const job of this.jobs.values()) job.reject(e);
    this.jobs.clear();
    for (const w of this.waiting.splice(0)) w();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
