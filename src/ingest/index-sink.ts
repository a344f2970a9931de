/**
 * Writes the index tar, in archive order, to a temporary file. Entries wait in a queue until
 * every chunk they reference has its place in a built brick; the file is published (renamed
 * or copied out) by the caller only after every brick and catalogue segment is durable.
 */
import type { FileHandle } from 'node:fs/promises';
import type { ChunkRef } from '../index/record';
import type { ChunkSlot } from './packer';

interface Waiting {
  slots: ChunkSlot[];
  /** Builds the entry's index bytes once all slots are placed. */
  render: (chunks: ChunkRef[]) => Buffer;
}

const FLUSH_BYTES = 1024 * 1024;

export class IndexSink {
  private readonly queue: (Buffer | Waiting)[] = [];
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  bytes = 0;

  constructor(private readonly file: FileHandle) {}

  push(item: Buffer | Waiting): void {
    this.queue.push(item);
  }

  /** Writes out every queued item whose chunks are all placed, in order. */
  async flushReady(): Promise<void> {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      let bytes: Buffer;
      if (Buffer.isBuffer(head)) bytes = head;
      else {
        const refs = placed(head.slots);
        if (!refs) break;
        bytes = head.render(refs);
      }
      this.queue.shift();
      this.buffered.push(bytes);
      this.bufferedBytes += bytes.length;
      if (this.bufferedBytes >= FLUSH_BYTES) await this.writeBuffered();
    }
  }

  get waiting(): number {
    return this.queue.length;
  }

  async finish(): Promise<void> {
    await this.flushReady();
    if (this.queue.length > 0) throw new Error('index entries left waiting for chunks that were never placed');
    await this.writeBuffered();
    await this.file.sync();
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

export function placed(slots: readonly ChunkSlot[]): ChunkRef[] | null {
  const refs: ChunkRef[] = [];
  for (const s of slots) {
    if (!s.place) return null;
    refs.push({ id: s.id, plainLength: s.plainLength, brick: s.place.brick, offset: s.place.offset, storedLength: s.place.storedLength });
  }
  return refs;
}
