/**
 * A fixed pool of seal workers. Work goes in batches (many small chunks per message keeps
 * the cost of crossing threads off the per-file path); at most `maxBatches` are in flight,
 * and submit() waits while the pool is full, which bounds ingest's memory.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { SealRequest, SealResponse, SealWorkerData } from './seal-worker';

interface Job {
  resolve: (sealed: Buffer[]) => void;
  reject: (e: Error) => void;
}

export interface SealItem {
  id: Buffer;
  plain: Buffer;
}

export class SealPool {
  private readonly workers: Worker[] = [];
  private readonly jobs = new Map<number, Job>();
  private readonly waiting: (() => void)[] = [];
  private seq = 0;
  private next = 0;
  private failure: Error | null = null;
  private readonly maxBatches: number;

  constructor(dataKey: Buffer, level: number, threads = availableParallelism()) {
    this.maxBatches = threads * 2;
    const workerData: SealWorkerData = { dataKey, level };
    for (let i = 0; i < threads; i++) {
      const w = new Worker(join(__dirname, 'seal-worker.js'), { workerData });
      w.on('message', (res: SealResponse) => this.settle(res));
      w.on('error', (e) => this.fail(e));
      this.workers.push(w);
    }
  }

  /** Waits for room, then hands the batch to a worker; the returned promise gives the sealed chunks in order. */
  async submit(batch: readonly SealItem[]): Promise<{ sealed: Promise<Buffer[]> }> {
    while (this.jobs.size >= this.maxBatches && !this.failure) await new Promise<void>((r) => this.waiting.push(r));
    if (this.failure) throw this.failure;
    const seq = this.seq++;
    const sealed = new Promise<Buffer[]>((resolve, reject) => this.jobs.set(seq, { resolve, reject }));
    const ids = Buffer.concat(batch.map((b) => b.id));
    const plain = batch.length === 1 ? batch[0]!.plain : Buffer.concat(batch.map((b) => b.plain));
    const req: SealRequest = { seq, ids, plain, lengths: batch.map((b) => b.plain.length) };
    const own = plain.byteOffset === 0 && plain.byteLength === plain.buffer.byteLength;
    this.workers[this.next++ % this.workers.length]!.postMessage(req, own ? [plain.buffer as ArrayBuffer] : []);
    return { sealed };
  }

  private settle(res: SealResponse): void {
    const job = this.jobs.get(res.seq);
    if (!job) return;
    this.jobs.delete(res.seq);
    const all = Buffer.from(res.sealed.buffer, res.sealed.byteOffset, res.sealed.byteLength);
    const out: Buffer[] = [];
    let o = 0;
    for (const n of res.lengths) {
      out.push(all.subarray(o, o + n));
      o += n;
    }
    job.resolve(out);
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
