/**
 * Collects sealed chunks into one brick. Each chunk is copied, as it comes, into the
 * brick's own buffer: the chunk's buffer then dies young, and the collector's next minor
 * pass frees it, instead of it living until its brick is stored and then waiting for a
 * full collection (meanwhile the allocator grew by that much). Built bricks' buffers are
 * reused.
 * On build() the chunks are laid out in a random order (their position must not reveal
 * file order or boundaries), the sealed table and trailer appended, and the brick's SHA-256
 * (its name) and Glacier tree hash computed.
 */
import { createHash, randomInt } from 'node:crypto';
import { BrickChunk, BrickSealing, encodeTable } from './format';
import { treeHash } from './treehash';

export interface PendingChunk {
  id: Buffer;
  /** The sealed chunk, in pieces laid end to end. */
  sealed: readonly Uint8Array[];
  plainLength: number;
}

export interface BuiltBrick {
  id: Buffer;
  idHex: string;
  /** The brick's bytes, in pieces: views of `memory`, then the table. */
  parts: Buffer[];
  size: number;
  treeHash: Buffer;
  chunks: BrickChunk[];
  /** What `parts` view: hand it to reuse() once the brick is stored, and not before. */
  memory: Buffer;
}

interface Placed {
  id: Buffer;
  at: number;
  length: number;
  plainLength: number;
}

export class BrickBuilder {
  private memory: Buffer | null = null;
  private used = 0;
  private placed: Placed[] = [];
  private readonly spare: Buffer[] = [];

  /**
   * `capacity`: bytes of a brick's buffer (its target size plus one large chunk; a larger
   * brick grows its buffer); `keep`: how many built bricks' buffers to keep for reuse.
   */
  constructor(
    private readonly capacity: number,
    private readonly keep: number,
  ) {}

  get byteSize(): number {
    return this.used;
  }

  get count(): number {
    return this.placed.length;
  }

  add(chunk: PendingChunk): void {
    let n = 0;
    for (const p of chunk.sealed) n += p.length;
    let memory = (this.memory ??= this.spare.pop() ?? Buffer.allocUnsafeSlow(Math.max(this.capacity, n)));
    if (this.used + n > memory.length) {
      const larger = Buffer.allocUnsafeSlow(Math.max(2 * memory.length, this.used + n));
      memory.copy(larger, 0, 0, this.used);
      memory = this.memory = larger;
    }
    this.placed.push({ id: chunk.id, at: this.used, length: n, plainLength: chunk.plainLength });
    for (const p of chunk.sealed) {
      memory.set(p, this.used);
      this.used += p.length;
    }
  }

  build(sealing: BrickSealing): BuiltBrick {
    const memory = this.memory ?? Buffer.alloc(0);
    const order = this.placed;
    for (let i = order.length - 1; i > 0; i--) {
      const j = randomInt(i + 1);
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    const table: BrickChunk[] = [];
    const parts: Buffer[] = [];
    let offset = 0;
    for (const c of order) {
      table.push({ id: c.id, offset, storedLength: c.length, plainLength: c.plainLength });
      parts.push(memory.subarray(c.at, c.at + c.length));
      offset += c.length;
    }
    parts.push(encodeTable(sealing, table));
    const hash = createHash('sha256');
    let size = 0;
    for (const p of parts) {
      hash.update(p);
      size += p.length;
    }
    const id = hash.digest();
    this.memory = null;
    this.used = 0;
    this.placed = [];
    return { id, idHex: id.toString('hex'), parts, size, treeHash: treeHash(parts), chunks: table, memory };
  }

  /** Takes back a built brick's buffer, once nothing reads its parts any more. */
  reuse(memory: Buffer): void {
    if (memory.length >= this.capacity && this.spare.length < this.keep) this.spare.push(memory);
  }
}
