/**
 * File bodies in index order with read-ahead across files: the reads of the next files'
 * chunks are in flight while the current one is consumed (one coalesced read per run of
 * chunks in a brick, as restore does), and the plaintext ahead of the consumer is bounded.
 * Each body is checked against the SHA-256 recorded at ingest when its last chunk is read.
 * A damaged body fails only its own reads: the consumer can go on to the next job.
 */
import { createHash, Hash } from 'node:crypto';
import { ChunkReader } from '../brick/reader';
import { CorruptDataError } from '../errors';
import type { BodyRef } from '../index/record';
import type { Repository } from '../repo/repository';
import { DEFAULT_READ_AHEAD, Fetched, fetchRuns, ReadAheadOptions } from '../restore/chunk-stream';
import { Semaphore } from '../store/limit';

export interface BodyJob<T> {
  value: T;
  /** The body to fetch, or null for a job without one (it still comes out in order). */
  body: BodyRef | null;
  /** Names the file in errors (escaped: see escapeName). */
  path: string;
}

type Op<T> = { kind: 'start'; job: BodyJob<T> } | { kind: 'chunk'; fetched: Fetched } | { kind: 'end' };

export class BodyPipeline<T> {
  private readonly reader: ChunkReader;
  private readonly gate: Semaphore;
  private readonly window: Op<T>[] = [];
  private aheadBytes = 0;
  private feeding: Iterator<Fetched> | null = null;
  private sourceDone = false;
  private current: { job: BodyJob<T>; hash: Hash; size: number; ended: boolean } | null = null;

  constructor(
    repo: Repository,
    private readonly source: AsyncIterator<BodyJob<T>> | Iterator<BodyJob<T>>,
    private readonly ahead: ReadAheadOptions = DEFAULT_READ_AHEAD,
  ) {
    this.reader = new ChunkReader(repo.backend, repo.keys);
    this.gate = new Semaphore(ahead.parallel);
  }

  /** Queues ops (starting their reads) until the read-ahead budget is used or the source ends. */
  private async fill(): Promise<void> {
    while (this.aheadBytes < this.ahead.aheadBytes && this.window.length < 4096) {
      if (this.feeding) {
        const r = this.feeding.next();
        if (r.done) {
          this.feeding = null;
          this.window.push({ kind: 'end' });
        } else {
          this.aheadBytes += r.value.size;
          this.window.push({ kind: 'chunk', fetched: r.value });
        }
        continue;
      }
      if (this.sourceDone) return;
      const next = await this.source.next();
      if (next.done) {
        this.sourceDone = true;
        return;
      }
      const job = next.value;
      this.window.push({ kind: 'start', job });
      if (job.body && job.body.chunks.length > 0) this.feeding = fetchRuns(this.reader, this.gate, job.body.chunks, job.path);
      else this.window.push({ kind: 'end' });
    }
  }

  private async take(): Promise<Op<T> | undefined> {
    if (this.window.length === 0) await this.fill();
    const op = this.window.shift();
    if (op?.kind === 'chunk') this.aheadBytes -= op.fetched.size;
    await this.fill();
    return op;
  }

  /** The next job, skipping whatever is left of the current one; null after the last. */
  async next(): Promise<T | null> {
    while (this.current && !this.current.ended) {
      const op = await this.take();
      if (!op || op.kind === 'end') break;
      if (op.kind === 'chunk') await op.fetched.data.catch(() => undefined);
    }
    const op = await this.take();
    if (!op) {
      this.current = null;
      return null;
    }
    if (op.kind !== 'start') throw new Error('body pipeline out of step');
    this.current = { job: op.job, hash: createHash('sha256'), size: 0, ended: false };
    return op.job.value;
  }

  /**
   * The current job's next piece of body, in order; null at its end, once its checksum
   * matched. After an error, call next(): it skips the rest of the damaged body.
   */
  async read(): Promise<Buffer | null> {
    const cur = this.current;
    if (!cur || cur.ended) return null;
    const op = await this.take();
    if (!op || op.kind === 'start') throw new Error('body pipeline out of step');
    if (op.kind === 'end') {
      cur.ended = true;
      const body = cur.job.body;
      if (body && (cur.size !== body.storedSize || !cur.hash.digest().equals(body.sha256))) {
        throw new CorruptDataError(`${cur.job.path}: contents do not match the checksum recorded at ingest`);
      }
      return null;
    }
    const data = await op.fetched.data;
    cur.hash.update(data);
    cur.size += data.length;
    return data;
  }
}
