/**
 * Brick layout (docs/FORMAT.md, "Bricks"):
 *   sealed chunk | sealed chunk | ... | sealed table | tableLength u32le | "DTARBRK1"
 * The table, sealed with AAD "dtar-brick-table-v1", lists every chunk in the brick:
 *   count u32le, then per chunk: id[32] | offset u32le | storedLength u32le | plainLength u32le
 * so that the chunk catalogue can be rebuilt from the bricks alone. A brick is named by
 * the SHA-256 of all its bytes, and is never modified once written.
 * Version 2 ("DTARBRK2") is a brick a writer key wrote: its chunks are sealed to the store,
 * and its table is ephemeral public key(32) | sealed with that agreement's `brick-table` key,
 * AAD "dtar-brick-table-v2".
 */
import { open, seal } from '../crypto/aead';
import type { StoreKeys } from '../crypto/keys';
import { openedFromStore, sealToStore, X25519_KEY_SIZE } from '../crypto/store-sealing';
import { CorruptDataError, magicVersion } from '../errors';

const BRICK_MAGIC = Buffer.from('DTARBRK1');
/** The newest brick magic this dtar reads. */
const NEWEST_MAGIC = Buffer.from('DTARBRK2');
export const BRICK_TRAILER_SIZE = 12;
const TABLE_AAD = Buffer.from('dtar-brick-table-v1');
const SEALED_TABLE_AAD = Buffer.from('dtar-brick-table-v2');
const ENTRY_SIZE = 44;
/** The brick version a writer key writes. */
const SEALED_TO_STORE = 2;

/** How a brick's table is sealed: with the data key (version 1), or to the store's public key (version 2). */
export type BrickSealing = { dataKey: Buffer } | { storePublicKey: Buffer };

/** Where a brick's table lies, and the brick's version. */
export interface BrickTable {
  offset: number;
  length: number;
  version: number;
}

export interface BrickChunk {
  id: Buffer;
  offset: number;
  storedLength: number;
  plainLength: number;
}

export function brickKey(brickIdHex: string): string {
  return `bricks/${brickIdHex.slice(0, 2)}/${brickIdHex}`;
}

export function encodeTable(sealing: BrickSealing, chunks: readonly BrickChunk[]): Buffer {
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
  let sealed: Buffer;
  const trailer = Buffer.alloc(BRICK_TRAILER_SIZE);
  BRICK_MAGIC.copy(trailer, 4);
  if ('dataKey' in sealing) sealed = seal(sealing.dataKey, plain, TABLE_AAD);
  else {
    const agreement = sealToStore(sealing.storePublicKey);
    sealed = Buffer.concat([agreement.ephemeral, seal(agreement.key('brick-table'), plain, SEALED_TABLE_AAD)]);
    NEWEST_MAGIC.copy(trailer, 4);
  }
  trailer.writeUInt32LE(sealed.length, 0);
  return Buffer.concat([sealed, trailer]);
}

/** Reads the trailer: where the sealed table starts and how long it is. */
export function parseTrailer(trailer: Buffer, brickSize: number, where: string): BrickTable {
  const version = trailer.length === BRICK_TRAILER_SIZE ? magicVersion(trailer.subarray(4), NEWEST_MAGIC, 7, () => where) : null;
  if (version === null) throw new CorruptDataError(`${where}: not a dtar brick (bad trailer)`);
  const length = trailer.readUInt32LE(0);
  if (length + BRICK_TRAILER_SIZE > brickSize) throw new CorruptDataError(`${where}: brick table length out of range`);
  return { offset: brickSize - BRICK_TRAILER_SIZE - length, length, version };
}

/** The table of a brick, authenticated: with the data key (version 1) or the store's private key (version 2). */
export function decodeTable(keys: Pick<StoreKeys, 'data' | 'x25519'>, table: BrickTable, sealedTable: Buffer, where: string): BrickChunk[] {
  const tableOffset = table.offset;
  let plain: Buffer;
  if (table.version === SEALED_TO_STORE) {
    if (sealedTable.length < X25519_KEY_SIZE) throw new CorruptDataError(`${where}: brick table too short`);
    const key = openedFromStore(keys.x25519, sealedTable.subarray(0, X25519_KEY_SIZE), 'brick-table', `${where} table`);
    plain = open(key, sealedTable.subarray(X25519_KEY_SIZE), SEALED_TABLE_AAD, `${where} table`);
  } else plain = open(keys.data, sealedTable, TABLE_AAD, `${where} table`);
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
