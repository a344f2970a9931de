/**
 * A catalogue segment: the chunk tables of one or more bricks, as one small object
 * `catalogue/<random>`. Written only after the bricks it lists are durable (docs/FORMAT.md §6).
 *
 * Version 2 (written today), plaintext framing:
 *   "DTCAT2\0\0" | sealing u8 | [ephemeral X25519 public key(32), sealing 1]
 *     | recordsLength u32le | records | lookup
 * records: the bricks, sealed with the data key (sealing 0) or with the `catalogue` key of an
 * agreement with the store's public key (sealing 1, a writer key's segment), AAD
 * "dtar-catalogue-v2" | the bytes before recordsLength | SHA-256(lookup), so that damage anywhere fails it:
 *   brickCount u32le | per brick: id[32] | size u64le | treeHash[32] | chunkCount u32le | chunkCount x (id[32] offset u32 stored u32 plain u32)
 * lookup: what a writer key deduplicates against, readable only for a chunk id one has:
 *   brickCount u32le | brickCount x brickId[32] | chunkCount u32le | chunkCount x (tag[32] | place[40]), by tag
 *   tag = SHA-256("dtar-dedup-tag\0" | chunk id); place = AES-256-GCM under
 *   HMAC-SHA256(chunk id, "dtar-dedup-place") of brickIndex u32le | offset u32le | storedLength u32le, AAD "dtar-dedup-place-v2" | tag.
 * Version 1 (still read): the whole object sealed with the data key, AAD "dtar-catalogue-v1",
 * of "DTCAT1\0\0" | brickCount u32le | bricks as above.
 */
import { createHash, createHmac } from 'node:crypto';
import { open, seal, SEAL_OVERHEAD, tryOpen } from '../crypto/aead';
import type { StoreKeys } from '../crypto/keys';
import { openedFromStore, sealToStore, X25519_KEY_SIZE } from '../crypto/store-sealing';
import { CorruptDataError, magicVersion, UnsupportedFormatError } from '../errors';
import type { BrickChunk } from '../brick/format';

const MAGIC_V1 = Buffer.from('DTCAT1\0\0');
const AAD_V1 = Buffer.from('dtar-catalogue-v1');
const MAGIC = Buffer.from('DTCAT2\0\0');
const AAD = Buffer.from('dtar-catalogue-v2');
const TAG_LABEL = Buffer.from('dtar-dedup-tag\0');
const PLACE_KEY_LABEL = Buffer.from('dtar-dedup-place');
const PLACE_AAD = Buffer.from('dtar-dedup-place-v2');
const SEALED_WITH_DATA_KEY = 0;
const SEALED_TO_STORE = 1;
export const TAG_SIZE = 32;
const PLACE_SIZE = 12 + SEAL_OVERHEAD;
const LOOKUP_ENTRY = TAG_SIZE + PLACE_SIZE;

export interface BrickRecord {
  id: Buffer;
  size: number;
  treeHash: Buffer;
  chunks: BrickChunk[];
}

/** How a segment's records are sealed: with the data key, or to the store's public key (a writer key). */
export type SegmentSealing = { dataKey: Buffer } | { storePublicKey: Buffer };

/** Where a chunk lies, as a segment's lookup tells it to whoever has the chunk's id. */
export interface ChunkPlace {
  brick: Buffer;
  offset: number;
  storedLength: number;
}

/** A segment's lookup: sorted tags, and per tag its sealed place. */
export interface SegmentLookup {
  bricks: Buffer[];
  entries: Buffer;
  count: number;
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

/** The tag a segment's lookup files a chunk under: computable only from the chunk's id. */
export function dedupTag(id: Uint8Array): Buffer {
  return createHash('sha256').update(TAG_LABEL).update(id).digest();
}

function placeKey(id: Uint8Array): Buffer {
  return createHmac('sha256', id).update(PLACE_KEY_LABEL).digest();
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

function lookupOf(bricks: readonly Buffer[]): Buffer {
  const entries: Buffer[] = [];
  const ids: Buffer[] = [];
  bricks.forEach((b, brick) => {
    ids.push(b.subarray(0, 32));
    const count = b.readUInt32LE(72);
    for (let j = 0, o = 76; j < count; j++, o += 44) {
      const id = b.subarray(o, o + 32);
      const tag = dedupTag(id);
      const place = Buffer.alloc(12);
      place.writeUInt32LE(brick, 0);
      place.writeUInt32LE(b.readUInt32LE(o + 32), 4);
      place.writeUInt32LE(b.readUInt32LE(o + 36), 8);
      entries.push(Buffer.concat([tag, seal(placeKey(id), place, Buffer.concat([PLACE_AAD, tag]))]));
    }
  });
  entries.sort(Buffer.compare);
  return Buffer.concat([u32(ids.length), ...ids, u32(entries.length), ...entries]);
}

/** A segment of bricks encoded by encodeBrickRecord. */
export function sealSegment(sealing: SegmentSealing, bricks: readonly Buffer[]): Buffer {
  const plain = Buffer.concat([u32(bricks.length), ...bricks]);
  const lookup = lookupOf(bricks);
  let head: Buffer;
  let key: Buffer;
  if ('dataKey' in sealing) {
    head = Buffer.concat([MAGIC, Buffer.from([SEALED_WITH_DATA_KEY])]);
    key = sealing.dataKey;
  } else {
    const agreement = sealToStore(sealing.storePublicKey);
    head = Buffer.concat([MAGIC, Buffer.from([SEALED_TO_STORE]), agreement.ephemeral]);
    key = agreement.key('catalogue');
  }
  const records = seal(key, plain, recordsAad(head, lookup));
  return Buffer.concat([head, u32(records.length), records, lookup]);
}

/** The records' AAD: binds the framing and the lookup to them, so that a reader with the passphrase finds damage anywhere. */
function recordsAad(head: Buffer, lookup: Buffer): Buffer {
  return Buffer.concat([AAD, head, createHash('sha256').update(lookup).digest()]);
}

/** A version 2 segment's parts; null for what is not one (a version 1 segment begins with a random nonce). */
function framing(bytes: Buffer, where: string): { head: Buffer; ephemeral: Buffer | null; records: Buffer; lookup: Buffer } | null {
  if (magicVersion(bytes, MAGIC, 5, () => `catalogue segment ${where}`) !== 2) return null;
  const fail = (): never => {
    throw new CorruptDataError(`${where}: malformed catalogue segment`);
  };
  let o = MAGIC.length;
  if (bytes.length < o + 5) fail();
  const sealing = bytes[o++]!;
  if (sealing !== SEALED_WITH_DATA_KEY && sealing !== SEALED_TO_STORE) throw new UnsupportedFormatError(`catalogue segment ${where}`, `2 with sealing ${sealing}`);
  let ephemeral: Buffer | null = null;
  if (sealing === SEALED_TO_STORE) {
    ephemeral = bytes.subarray(o, o + X25519_KEY_SIZE);
    o += X25519_KEY_SIZE;
  }
  if (o + 4 > bytes.length) fail();
  const head = bytes.subarray(0, o);
  const n = bytes.readUInt32LE(o);
  o += 4;
  if (o + n > bytes.length) fail();
  return { head, ephemeral, records: bytes.subarray(o, o + n), lookup: bytes.subarray(o + n) };
}

function decodeRecords(p: Buffer, at: number, where: string): BrickRecord[] {
  const fail = (): never => {
    throw new CorruptDataError(`${where}: malformed catalogue segment`);
  };
  let o = at;
  if (p.length < o + 4) fail();
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

function decodeV1(dataKey: Buffer, sealed: Buffer, where: string): BrickRecord[] {
  const p = open(dataKey, sealed, AAD_V1, where);
  // Authenticated, so another version of the magic is a newer dtar's, not damage.
  if (p.length < MAGIC_V1.length + 4 || magicVersion(p, MAGIC_V1, 5, () => `catalogue segment ${where}`) !== 1) {
    throw new CorruptDataError(`${where}: malformed catalogue segment`);
  }
  return decodeRecords(p, MAGIC_V1.length, where);
}

/**
 * The bricks a segment lists, with the keys of the passphrase (the data key, or the store's
 * private key for a writer's). A version 1 segment begins with its random nonce, which begins
 * like a version 2 magic once in 2^64.
 */
export function decodeSegment(keys: Pick<StoreKeys, 'data' | 'x25519'>, bytes: Buffer, where: string): BrickRecord[] {
  const f = framing(bytes, where);
  if (!f) return decodeV1(keys.data, bytes, where);
  const key = f.ephemeral ? openedFromStore(keys.x25519, f.ephemeral, 'catalogue', where) : keys.data;
  return decodeRecords(open(key, f.records, recordsAad(f.head, f.lookup), where), 0, where);
}

/** Whether a segment is of version 1, which has no lookup (export-writer rewrites those: Catalogue.addLookups). */
export function isSegmentV1(bytes: Buffer, where: string): boolean {
  return framing(bytes, where) === null;
}

/** A segment's lookup, what a writer key reads; null for a version 1 segment, which has none. */
export function segmentLookup(bytes: Buffer, where: string): SegmentLookup | null {
  const f = framing(bytes, where);
  if (!f) return null;
  const fail = (): never => {
    throw new CorruptDataError(`${where}: malformed catalogue segment lookup`);
  };
  const l = f.lookup;
  if (l.length < 4) fail();
  const nb = l.readUInt32LE(0);
  if (4 + nb * 32 + 4 > l.length) fail();
  const bricks: Buffer[] = [];
  for (let i = 0; i < nb; i++) bricks.push(Buffer.from(l.subarray(4 + i * 32, 36 + i * 32)));
  const at = 4 + nb * 32;
  const count = l.readUInt32LE(at);
  if (at + 4 + count * LOOKUP_ENTRY !== l.length) fail();
  return { bricks, entries: l.subarray(at + 4), count };
}

/** The tag and sealed place of a lookup's entry i. */
export function lookupEntry(lookup: SegmentLookup, i: number): { tag: Buffer; sealed: Buffer } {
  const o = i * LOOKUP_ENTRY;
  return { tag: lookup.entries.subarray(o, o + TAG_SIZE), sealed: lookup.entries.subarray(o + TAG_SIZE, o + LOOKUP_ENTRY) };
}

/** The place of chunk `id` from its lookup entry, or null when the entry is not that chunk's (or was altered). */
export function openPlace(id: Uint8Array, tag: Buffer, sealed: Buffer, bricks: readonly Buffer[]): ChunkPlace | null {
  const p = tryOpen(placeKey(id), sealed, Buffer.concat([PLACE_AAD, tag]));
  if (!p || p.length !== 12) return null;
  const brick = bricks[p.readUInt32LE(0)];
  return brick ? { brick, offset: p.readUInt32LE(4), storedLength: p.readUInt32LE(8) } : null;
}
