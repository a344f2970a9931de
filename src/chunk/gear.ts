/**
 * The gear table of the content-defined chunker: 256 pseudo-random 32-bit words.
 * Keyed stores derive it from the master secret, so chunk boundaries (and hence chunk
 * sizes seen in the store) cannot be predicted for a known file without the key.
 * The unkeyed table exists for benchmarks and for stores whose config says so.
 */
import { createHash, createHmac } from 'node:crypto';

function tableFrom(words: (i: number) => Buffer): Uint32Array {
  const table = new Uint32Array(256);
  for (let block = 0; block < 32; block++) {
    const bytes = words(block); // 32 bytes = 8 words
    for (let j = 0; j < 8; j++) table[block * 8 + j] = bytes.readUInt32LE(j * 4);
  }
  return table;
}

export function keyedGearTable(chunkerKey: Buffer): Uint32Array {
  return tableFrom((i) => createHmac('sha256', chunkerKey).update(`gear ${i}`).digest());
}

export function publicGearTable(): Uint32Array {
  return tableFrom((i) => createHash('sha256').update(`dtar public gear ${i}`).digest());
}
