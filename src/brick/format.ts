/**
 * Brick layout (docs/FORMAT.md, "Bricks"):
 *   sealed chunk | sealed chunk | ... | sealed table | tableLength u32le | "DTARBRK1"
 * The table, sealed with AAD "dtar-brick-table-v1", lists every chunk in the brick:
 *   count u32le, then per chunk: id[32] | offset u32le | storedLength u32le | plainLength u32le
 * so that the chunk catalogue can be rebuilt from the bricks alone. A brick is named by
 * the SHA-256 of all its bytes, and is never modified once written.
 */
import { open, seal } from '../crypto/aead';
import { CorruptDataError, magicVersion } from '../errors';

export const BRICK_MAGIC = Buffer.from('DTARBRK1');
export const BRICK_TRAILER_SIZE = 12;
const TABLE_AAD = Buffer.from('dtar-brick-table-v1');
const ENTRY_SIZE = 44;

export interface BrickChunk {
  id: Buffer;
  offset: number;
  storedLength: number;
  plainLength: number;
}

export function brickKey(brickIdHex: string): string {
  return `bricks/${brickIdHex.slice(0, 2)}/${brickIdHex}`;
}

export function encodeTable(dataKey: Buffer, chunks: readonly BrickChunk[]): Buffer {
  const plain = Buffer.alloc(4 + chunks.length * ENTRY_SIZE);
  plain.writeUInt32LE(chunks.length, 0);
  let o = 4;
  for (const c of chunks) {
    c.id.copy(plain, o);
    plain.writeUInt32LE(c.offset, o + 32);
    plain.writeUInt32LE(c.storedLength, o + 36);
    plain.writeUInt32LE(c.plainLength, o + 40);
    o += ENTRY_SIZE;
  }
  const sealed = seal(dataKey, plain, TABLE_AAD);
  const trailer = Buffer.alloc(BRICK_TRAILER_SIZE);
  trailer.writeUInt32LE(sealed.length, 0);
  BRICK_MAGIC.copy(trailer, 4);
  return Buffer.concat([sealed, trailer]);
}

/** Reads the trailer: where the sealed table starts and how long it is. */
export function parseTrailer(trailer: Buffer, brickSize: number, where: string): { offset: number; length: number } {
  if (trailer.length !== BRICK_TRAILER_SIZE || magicVersion(trailer.subarray(4), BRICK_MAGIC, 7, () => where) !== 1) {
    throw new CorruptDataError(`${where}: not a dtar brick (bad trailer)`);
  }
  const length = trailer.readUInt32LE(0);
  if (length + BRICK_TRAILER_SIZE > brickSize) throw new CorruptDataError(`${where}: brick table length out of range`);
  return { offset: brickSize - BRICK_TRAILER_SIZE - length, length };
}

export function decodeTable(dataKey: Buffer, sealedTable: Buffer, tableOffset: number, where: string): BrickChunk[] {
  const plain = open(dataKey, sealedTable, TABLE_AAD, `${where} table`);
  const count = plain.readUInt32LE(0);
  if (plain.length !== 4 + count * ENTRY_SIZE) throw new CorruptDataError(`${where}: brick table size mismatch`);
  const out: BrickChunk[] = [];
  for (let i = 0, o = 4; i < count; i++, o += ENTRY_SIZE) {
    const c: BrickChunk = {
      id: Buffer.from(plain.subarray(o, o + 32)),
      offset: plain.readUInt32LE(o + 32),
      storedLength: plain.readUInt32LE(o + 36),
      plainLength: plain.readUInt32LE(o + 40),
    };
    if (c.offset + c.storedLength > tableOffset) throw new CorruptDataError(`${where}: brick table entry out of range`);
    out.push(c);
  }
  return out;
}
