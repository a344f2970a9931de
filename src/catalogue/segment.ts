/**
 * A catalogue segment: the chunk tables of one or more bricks, sealed as one small object
 * `catalogue/<random>`. Written only after the bricks it lists are durable. Plaintext:
 *   "DTCAT1\0\0" | brickCount u32le | per brick:
 *     id[32] | size u64le | treeHash[32] | chunkCount u32le | chunkCount x (id[32] offset u32 stored u32 plain u32)
 */
import { open, seal } from '../crypto/aead';
import { CorruptDataError, magicVersion } from '../errors';
import type { BrickChunk } from '../brick/format';

const MAGIC = Buffer.from('DTCAT1\0\0');
const AAD = Buffer.from('dtar-catalogue-v1');

export interface BrickRecord {
  id: Buffer;
  size: number;
  treeHash: Buffer;
  chunks: BrickChunk[];
}

/**
 * One brick's part of a segment's plaintext. Ingest keeps this form of the bricks whose
 * segments it will merge: 44 bytes a chunk, where the decoded records took ~200.
 */
export function encodeBrickRecord(b: BrickRecord): Buffer {
  const out = Buffer.alloc(76 + b.chunks.length * 44);
  b.id.copy(out, 0);
  out.writeBigUInt64LE(BigInt(b.size), 32);
  b.treeHash.copy(out, 40);
  out.writeUInt32LE(b.chunks.length, 72);
  let o = 76;
  for (const c of b.chunks) {
    c.id.copy(out, o);
    out.writeUInt32LE(c.offset, o + 32);
    out.writeUInt32LE(c.storedLength, o + 36);
    out.writeUInt32LE(c.plainLength, o + 40);
    o += 44;
  }
  return out;
}

/** A sealed segment of bricks encoded by encodeBrickRecord. */
export function sealSegment(dataKey: Buffer, bricks: readonly Buffer[]): Buffer {
  const head = Buffer.alloc(MAGIC.length + 4);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(bricks.length, MAGIC.length);
  return seal(dataKey, Buffer.concat([head, ...bricks]), AAD);
}

export function decodeSegment(dataKey: Buffer, sealed: Buffer, where: string): BrickRecord[] {
  const p = open(dataKey, sealed, AAD, where);
  const fail = (): never => {
    throw new CorruptDataError(`${where}: malformed catalogue segment`);
  };
  // Authenticated, so another version of the magic is a newer dtar's, not damage.
  if (p.length < MAGIC.length + 4 || magicVersion(p, MAGIC, 5, () => `catalogue segment ${where}`) !== 1) fail();
  let o = MAGIC.length;
  const n = p.readUInt32LE(o);
  o += 4;
  const bricks: BrickRecord[] = [];
  for (let i = 0; i < n; i++) {
    if (o + 76 > p.length) fail();
    const id = Buffer.from(p.subarray(o, o + 32));
    const size = Number(p.readBigUInt64LE(o + 32));
    const treeHash = Buffer.from(p.subarray(o + 40, o + 72));
    const count = p.readUInt32LE(o + 72);
    o += 76;
    if (o + count * 44 > p.length) fail();
    const chunks: BrickChunk[] = [];
    for (let j = 0; j < count; j++, o += 44) {
      chunks.push({
        id: Buffer.from(p.subarray(o, o + 32)),
        offset: p.readUInt32LE(o + 32),
        storedLength: p.readUInt32LE(o + 36),
        plainLength: p.readUInt32LE(o + 40),
      });
    }
    bricks.push({ id, size, treeHash, chunks });
  }
  if (o !== p.length) fail();
  return bricks;
}
