/**
 * Writes the index tar, in archive order, to a temporary file. An entry waits in a queue
 * until its body is cut and every chunk has its place in a built brick; then its bytes are
 * made and written.
 * The file is published by the caller only after every brick and catalogue segment is durable.
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { chunkPlaceOffset, writeChunkPlace } from '../index/record';
import type { StoredBody } from './chunk-pipeline';

interface Rendered {
  bytes: Buffer;
  /** Where the record's chunk list starts in `bytes`. */
  chunkListAt: number;
}

interface Waiting {
  /** The body, once its worker has cut and hashed it. */
  body: { stored: StoredBody | null };
  render(stored: StoredBody): Rendered;
}

const FLUSH_BYTES = 1024 * 1024;

export class IndexSink {
  private queue: (Buffer | Waiting)[] = [];
  private head = 0;
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private readonly hash = createHash('sha256');
  bytes = 0;

  constructor(private readonly file: FileHandle) {}

  push(item: Buffer | Waiting): void {
    this.queue.push(item);
  }

  /** Writes out every queued item whose chunks are all placed, in order. */
  async flushReady(): Promise<void> {
    while (this.head < this.queue.length) {
      const item = this.queue[this.head]!;
      let bytes: Buffer;
      if (Buffer.isBuffer(item)) bytes = item;
      else {
        const stored = item.body.stored;
        if (!stored || !stored.slots.every((s) => s.place)) break;
        const r = item.render(stored);
        fillPlaces(r, stored);
        bytes = r.bytes;
      }
      this.head++;
      this.hash.update(bytes);
      this.buffered.push(bytes);
      this.bufferedBytes += bytes.length;
      if (this.bufferedBytes >= FLUSH_BYTES) await this.writeBuffered();
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** SHA-256 of everything pushed so far (for the trailer); every entry must be ready. */
  async digest(): Promise<Buffer> {
    await this.flushAll();
    return this.hash.copy().digest();
  }

  async finish(): Promise<void> {
    await this.flushAll();
    await this.writeBuffered();
    await this.file.sync();
  }

  /** Takes every pushed entry in; by now each must have its chunks placed. */
  private async flushAll(): Promise<void> {
    await this.flushReady();
    if (this.head < this.queue.length) throw new Error('index entries left waiting for chunks that were never placed');
  }

  private async writeBuffered(): Promise<void> {
    if (this.bufferedBytes === 0) return;
    const data = Buffer.concat(this.buffered, this.bufferedBytes);
    this.buffered = [];
    this.bufferedBytes = 0;
    await this.file.write(data);
    this.bytes += data.length;
  }
}

function fillPlaces(r: Rendered, body: StoredBody): void {
  body.slots.forEach((s, i) => writeChunkPlace(r.bytes, r.chunkListAt + chunkPlaceOffset(i), s.place!.brick, s.place!.offset, s.place!.storedLength));
}
