/**
 * Collects sealed chunks into one brick. On build() the chunks are laid out in a random
 * order (their position must not reveal file order or boundaries), the sealed table and
 * trailer appended, and the brick's SHA-256 (its name) and Glacier tree hash computed.
 */
import { createHash, randomInt } from 'node:crypto';
import { BrickChunk, encodeTable } from './format';
import { treeHash } from './treehash';

export interface PendingChunk {
  id: Buffer;
  sealed: Buffer;
  plainLength: number;
}

export interface BuiltBrick {
  id: Buffer;
  idHex: string;
  /** The brick's bytes, in pieces (not concatenated: bricks are tens of MiB). */
  parts: Buffer[];
  size: number;
  treeHash: Buffer;
  chunks: BrickChunk[];
}

export class BrickBuilder {
  private chunks: PendingChunk[] = [];
  private size = 0;

  get byteSize(): number {
    return this.size;
  }

  get count(): number {
    return this.chunks.length;
  }

  add(chunk: PendingChunk): void {
    this.chunks.push(chunk);
    this.size += chunk.sealed.length;
  }

  build(dataKey: Buffer): BuiltBrick {
    const order = this.chunks;
    for (let i = order.length - 1; i > 0; i--) {
      const j = randomInt(i + 1);
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    const table: BrickChunk[] = [];
    let offset = 0;
    for (const c of order) {
      table.push({ id: c.id, offset, storedLength: c.sealed.length, plainLength: c.plainLength });
      offset += c.sealed.length;
    }
    const parts = [...order.map((c) => c.sealed), encodeTable(dataKey, table)];
    const hash = createHash('sha256');
    let size = 0;
    for (const p of parts) {
      hash.update(p);
      size += p.length;
    }
    const id = hash.digest();
    this.chunks = [];
    this.size = 0;
    return { id, idHex: id.toString('hex'), parts, size, treeHash: treeHash(parts), chunks: table };
  }
}
